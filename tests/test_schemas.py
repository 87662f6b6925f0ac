from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from schemas import (
    TOPIC_CONTRACTS,
    Alert,
    DeadLetter,
    EnrichedBatch,
    EnrichedEvent,
    EventBatch,
    Passage,
    Place,
    QuarantineOrder,
)
from tests.factories import CST, DINGYANG_CP, NIGHT, RESIDENTS, RISK_AREAS, passage, scan, wall_climb


def test_event_batch_round_trips_every_event_type_through_json() -> None:
    batch = EventBatch(batch_id="b-1", source="cp-dy-050", events=(passage("e1"), scan("e2"), wall_climb("e3")))
    again = EventBatch.model_validate_json(batch.model_dump_json())
    assert again == batch
    assert [e.event_type for e in again.events] == ["passage", "qr_scan", "perimeter_report"]


@pytest.mark.parametrize("model", [DINGYANG_CP, RESIDENTS[0], RISK_AREAS[0]])
def test_master_records_round_trip(model: object) -> None:
    cls = type(model)
    assert cls.model_validate_json(model.model_dump_json()) == model  # type: ignore[attr-defined]


def test_outputs_round_trip() -> None:
    place = Place(checkpoint_id="cp", compound_id="co", community_code="c", large_grid="LG1", small_grid="SG1")
    ev = EnrichedEvent(event_id="e1", event_type="passage", event_time=NIGHT, place=place, misses=("resident",))
    batch = EnrichedBatch(batch_id="b", source="cp", events=(ev,))
    alert = Alert(
        alert_id="a" * 32, rule_id="fever", rule_version=1, severity="high", event_time=NIGHT,
        detected_at=NIGHT, place=place, event_ids=("e1",), summary_zh="体温", summary_en="fever",
    )
    letter = DeadLetter(
        reason="invalid_json", detail="x", source_topic="t", partition=0, offset=5,
        sealed_b64="e30=", key_id="k1", failed_at=NIGHT,
    )
    for obj in (batch, alert, letter):
        assert type(obj).model_validate_json(obj.model_dump_json()) == obj


def test_id_number_lower_case_x_is_normalised() -> None:
    p = passage("e1", id_number="33082219800101123x")
    assert p.id_number == "33082219800101123X"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "3308-2219"}, "id_number"),  # malformed numbers pass; other characters do not
        ({"temperature_c": 52.0}, "temperature_c"),
        ({"direction": "sideways"}, "direction"),
        ({"health_code": "purple"}, "health_code"),
        ({"declared_origin": "33010"}, "declared_origin"),
        ({"event_time": datetime(2020, 2, 8, 22, 0)}, "event_time"),  # noqa: DTZ001 - naive on purpose
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_passage_rejects_invalid_fields(change: dict[str, object], field: str) -> None:
    data = passage("e1").model_dump() | change
    with pytest.raises(ValidationError) as info:
        Passage.model_validate(data)
    assert field in str(info.value)


def test_person_passage_without_id_number_is_rejected() -> None:
    with pytest.raises(ValidationError, match="needs id_number"):
        Passage(event_id="e", event_time=NIGHT, checkpoint_id="cp", direction="in")


def test_vehicle_passage_needs_a_plate_not_an_id() -> None:
    with pytest.raises(ValidationError, match="needs plate"):
        Passage(event_id="e", event_time=NIGHT, checkpoint_id="cp", direction="in", subject_kind="vehicle")
    ok = Passage(event_id="e", event_time=NIGHT, checkpoint_id="cp", direction="in", subject_kind="vehicle",
                 plate="浙H12345")
    assert ok.id_number is None


def test_unknown_event_type_is_rejected_by_the_discriminator() -> None:
    doc = {"batch_id": "b", "source": "s", "events": [{"event_type": "teleport", "event_id": "e"}]}
    with pytest.raises(ValidationError, match=r"teleport|discriminator|tag"):
        EventBatch.model_validate(doc)


def test_empty_batch_is_rejected() -> None:
    with pytest.raises(ValidationError):
        EventBatch(batch_id="b", source="s", events=())


def test_future_schema_version_is_rejected() -> None:
    doc = EventBatch(batch_id="b", source="s", events=(passage("e1"),)).model_dump(mode="json")
    doc["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        EventBatch.model_validate(doc)


def test_models_are_immutable() -> None:
    order = QuarantineOrder(order_id="q", id_number=RESIDENTS[0].id_number, starts_at=NIGHT,
                            ends_at=datetime(2020, 2, 22, tzinfo=CST))
    with pytest.raises(ValidationError):
        order.order_id = "other"  # type: ignore[misc]


def test_every_topic_has_a_json_schema_with_its_fields() -> None:
    for logical, model in TOPIC_CONTRACTS.items():
        schema = model.model_json_schema()
        assert schema["type"] == "object", logical
        assert "schema_version" in schema["properties"], logical
    events_schema = EventBatch.model_json_schema()
    assert set(events_schema["$defs"]) >= {"QrScan", "Passage", "PerimeterReport"}


def test_the_published_json_schemas_are_the_ones_the_contracts_generate() -> None:
    """A contract change cannot land without its published schema (`gridwatch schemas --out docs/schemas`)."""
    import json

    from schemas import TOPIC_CONTRACTS
    from streams.settings import REPO_ROOT

    for logical, model in TOPIC_CONTRACTS.items():
        published = REPO_ROOT / "docs" / "schemas" / f"{logical}.schema.json"
        assert json.loads(published.read_text(encoding="utf-8")) == model.model_json_schema(), logical
