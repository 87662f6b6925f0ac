"""Models built from trusted values equal the validated ones, over the whole simulated run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.engine import run_engine_bench
from schemas import EnrichedEvent, Place, SubjectKind
from streams.trusted import Builder


def test_a_built_model_equals_the_validated_one_with_defaults_filled_in() -> None:
    build = Builder(EnrichedEvent)
    values = {"event_id": "e1", "event_type": "passage", "event_time": datetime(2020, 2, 8, tzinfo=UTC),
              "place": Place(checkpoint_id="kp1"), "subject_kind": SubjectKind.PERSON, "misses": ("resident",)}
    built = build(**values)
    assert built == EnrichedEvent(**values)
    assert built.model_dump_json() == EnrichedEvent(**values).model_dump_json()
    assert built.model_fields_set == set(values)
    with pytest.raises(Exception, match="frozen"):
        built.event_id = "e2"  # type: ignore[misc]


def test_checked_refuses_values_validation_would_change() -> None:
    build = Builder(EnrichedEvent)
    values = {"event_id": "e1", "event_type": "passage", "event_time": datetime(2020, 2, 8, tzinfo=UTC),
              "place": Place()}
    with pytest.raises(ValueError, match="subject_kind"):
        build.checked(**values, subject_kind="person")  # a string where validation makes the enum
    with pytest.raises(TypeError, match="missing"):
        build.checked(event_id="e1")


def test_every_model_the_engine_builds_on_a_simulated_run_is_what_validation_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Builder, "verify", True)
    result = run_engine_bench(1000, 6000)
    assert result["events"] == 6000 and result["findings"] > 0
