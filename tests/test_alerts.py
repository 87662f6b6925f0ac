from __future__ import annotations

from datetime import UTC, datetime

from schemas import EnrichedEvent, Place, Severity
from streams.alerts import alert_id, build_alert
from streams.rules import Finding
from tests.factories import NIGHT

FINDING = Finding("fever", 1, Severity.HIGH, "体温异常", "Fever")


def _event(event_id: str) -> EnrichedEvent:
    place = Place(checkpoint_id="cp-1", compound_id="co-1", community_code="c", large_grid="LG1", small_grid="SG2")
    return EnrichedEvent(event_id=event_id, event_type="passage", event_time=NIGHT, place=place,
                         subject_masked="330822********1234", subject_key="k", home_dwelling_id="d-1")


def test_same_input_gives_the_same_alert_id_whenever_detected() -> None:
    a = build_alert(FINDING, _event("e1"), detected_at=datetime(2020, 2, 8, 14, 0, tzinfo=UTC))
    b = build_alert(FINDING, _event("e1"), detected_at=datetime(2021, 1, 1, tzinfo=UTC))
    assert a.alert_id == b.alert_id
    assert a.detected_at != b.detected_at


def test_alert_id_differs_by_event_rule_and_version() -> None:
    base = alert_id("fever", 1, ("e1",))
    assert base != alert_id("fever", 1, ("e2",))
    assert base != alert_id("health_code", 1, ("e1",))
    assert base != alert_id("fever", 2, ("e1",))


def test_alert_id_ignores_event_order() -> None:
    assert alert_id("r", 1, ("a", "b")) == alert_id("r", 1, ("b", "a"))


def test_alert_names_grid_compound_checkpoint_and_dwelling() -> None:
    alert = build_alert(FINDING, _event("e1"), detected_at=NIGHT)
    assert (alert.place.large_grid, alert.place.small_grid) == ("LG1", "SG2")
    assert (alert.place.compound_id, alert.place.checkpoint_id, alert.dwelling_id) == ("co-1", "cp-1", "d-1")
    assert alert.event_ids == ("e1",)
    assert alert.subject_masked == "330822********1234"
