"""The engine: the catalogue's rules, built once, deterministic, refusing a catalogue the code does not implement."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import EnrichedEvent, Severity
from streams.catalogue import load_catalogue, packaged_catalogue, parse_catalogue
from streams.engine import Engine, RuleVersionMismatch
from streams.rules.state import MemoryState
from streams.settings import REPO_ROOT
from tests.factories import NIGHT, enriched_event

CATALOGUE = load_catalogue()
PACKAGED = Path(packaged_catalogue()).read_text(encoding="utf-8")


def engine(text: str | None = None) -> Engine:
    return Engine(parse_catalogue(text) if text else CATALOGUE, states=lambda rule_id: MemoryState())


def _event(kind: str, person: int, minute: int, temperature: float, far: bool) -> EnrichedEvent:
    kw: dict[str, Any] = {"subject_key": f"key-{person}", "event_time": NIGHT + timedelta(minutes=minute),
                          "temperature_c": temperature}
    if far:
        kw |= {"lat": 29.2, "lon": 118.9}
    if kind == "sighting":
        kw |= {"event_type": "sighting", "sighting_kind": "patrol_check", "checkpoint_kind": None, "direction": None,
               "temperature_c": None}
    elif kind == "out":
        kw |= {"direction": "out"}
    return enriched_event(f"e-{kind}-{person}-{minute}-{temperature}-{far}", **kw)


EVENTS = st.lists(
    st.builds(_event, st.sampled_from(["in", "out", "sighting"]), st.integers(0, 3), st.integers(0, 180),
              st.sampled_from([36.5, 37.0, 38.2]), st.booleans()),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(EVENTS)
def test_the_same_events_into_fresh_state_give_the_same_findings(events: list[EnrichedEvent]) -> None:
    def run() -> list[tuple[str, str, bool, Severity]]:
        e = engine()
        return [(f.rule_id, f.summary_en, f.resolves, f.severity) for ev in events for f in e.evaluate(ev)]

    assert run() == run()


def test_every_catalogue_rule_is_built_and_a_disabled_one_is_not() -> None:
    assert set(engine().rule_ids) == {spec.id for spec in CATALOGUE.rules}
    off = PACKAGED.replace("  - id: fever\n    version: 2\n    enabled: true", "  - id: fever\n    version: 2\n"
                                                                               "    enabled: false")
    assert off != PACKAGED
    e = engine(off)
    assert "fever" not in e.rule_ids
    assert "fever" not in [f.rule_id for f in e.evaluate(enriched_event("hot", temperature_c=39.0))]
    assert "fever" in [f.rule_id for f in engine().evaluate(enriched_event("hot", temperature_c=39.0))]


def test_the_catalogue_severity_replaces_the_rules_built_in_one() -> None:
    raised = PACKAGED.replace("  - id: fever\n    version: 2\n    enabled: true\n    severity: high",
                              "  - id: fever\n    version: 2\n    enabled: true\n    severity: critical")
    assert raised != PACKAGED
    [finding] = [f for f in engine(raised).evaluate(enriched_event("hot", temperature_c=39.0)) if f.rule_id == "fever"]
    assert finding.severity is Severity.CRITICAL


def test_a_catalogue_describing_another_rule_version_is_refused() -> None:
    stale = PACKAGED.replace("  - id: fever\n    version: 2", "  - id: fever\n    version: 1")
    assert stale != PACKAGED
    with pytest.raises(RuleVersionMismatch, match="fever version 1"):
        engine(stale)


def test_the_worker_refuses_to_start_on_a_bad_rule_file_naming_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(PACKAGED.replace("threshold_c: 37.3", "threshold_c: 99"), encoding="utf-8")
    line = PACKAGED.splitlines().index("      threshold_c: 37.3") + 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env |= {"GRIDWATCH_RULES__FILE": str(bad), "GRIDWATCH_KAFKA__BOOTSTRAP": "127.0.0.1:1",
            "GRIDWATCH_DATA_DIR": str(tmp_path / "data"), "GRIDWATCH_METRICS__PORT": "0"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"rules.yaml:{line}:" in done.stderr and "threshold_c" in done.stderr
