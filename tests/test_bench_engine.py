"""The engine benchmark runs at a tiny size, and the engine still finds exactly what it found before.

No timing is asserted: speeds are figures to read. The golden file holds one
line per finding of a simulated run (rule, severity, subject, and hashes of
the finding record's key and value) and the digest of every enriched event,
made before the engine was optimised: an optimisation must leave both as they
are. A deliberate change of a rule or of enrichment regenerates it (see the
file's first line for the call).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

from bench.engine import PHASES, main, run_engine_bench

GOLDEN = Path(__file__).parent / "golden" / "engine_findings.txt"


def test_tiny_run_processes_every_event_and_finds_something(tmp_path: Path) -> None:
    out = tmp_path / "engine.json"
    assert main(["--residents", "300", "--events", "1500", "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["events"] == 1500
    assert result["findings"] > 0
    assert set(PHASES) <= set(result["phases"])
    assert result["engine_eps"] > 0


def test_the_engine_finds_the_same_as_before_on_a_simulated_run() -> None:
    _header, enriched, *lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    result = run_engine_bench(2000, 20000, fingerprints=True)
    assert result["events"] == 20000
    assert result["enriched_digest"] == enriched.removeprefix("# enriched ")
    assert result["fingerprints"] == lines


def test_enrichment_over_the_workers_register_store_finds_the_same_as_registers_in_memory() -> None:
    """The registers loaded through the replicator's apply step into RocksDB, looked up as the worker does."""
    _header, enriched, *lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    result = run_engine_bench(2000, 20000, fingerprints=True, registers="store")
    assert result["config"]["registers"] == "store"
    assert result["enriched_digest"] == enriched.removeprefix("# enriched ")
    assert result["fingerprints"] == lines


@pytest.mark.parametrize("store", ["table", "offheap"])
def test_the_workers_state_path_finds_the_same_as_state_in_memory(store: Literal["table", "offheap"]) -> None:
    """Rule state written to JSON in a table (a dict as Faust's in-memory store, or the worker's RocksDB store)
    and read back from it, flushed per take as the worker does."""
    _header, enriched, *lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    result = run_engine_bench(2000, 20000, fingerprints=True, state=store, take_events=7)
    assert result["config"]["state"] == store
    assert result["enriched_digest"] == enriched.removeprefix("# enriched ")
    assert result["fingerprints"] == lines
    # what the table holds at the end is reported (it lives in the worker's memory): a bundle per person and more
    table = result["state_table"]
    assert table["keys"] == sum(table["by_bundle"].values()) and table["by_bundle"]["person"] > 1000
    assert table["bytes"] > 100 * table["keys"]
