from __future__ import annotations

from datetime import UTC, datetime

from schemas import EnrichedEvent, Place, Severity
from streams.alerts import alert_id, build_alert, fingerprint, place_key, subject_of
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


def _at(place: Place, event_id: str = "e1", subject_key: str = "k") -> EnrichedEvent:
    return EnrichedEvent(event_id=event_id, event_type="passage", event_time=NIGHT, place=place,
                         subject_key=subject_key)


CP1 = Place(checkpoint_id="cp-1", compound_id="co-1", large_grid="LG1", small_grid="SG2")


def test_alert_carries_the_fingerprint_of_rule_subject_and_place() -> None:
    alert = build_alert(FINDING, _event("e1"), detected_at=NIGHT)
    assert alert.fingerprint == fingerprint("fever", "k", alert.place)
    assert (alert.status, alert.count, alert.revision, alert.change) == ("open", 1, 1, "opened")
    assert alert.last_event_time == NIGHT
    assert alert.updated_by == "rule:fever"


def test_fingerprint_ignores_event_time_severity_and_version() -> None:
    later = _event("e2").model_copy(update={"event_time": datetime(2021, 5, 1, tzinfo=UTC)})
    worse = Finding("fever", 2, Severity.CRITICAL, "体温异常", "Fever")
    a = build_alert(FINDING, _event("e1"), detected_at=NIGHT)
    b = build_alert(worse, later, detected_at=NIGHT)
    assert a.fingerprint == b.fingerprint
    assert a.alert_id != b.alert_id


def test_fingerprint_differs_by_rule_subject_and_checkpoint() -> None:
    base = fingerprint("fever", "k", CP1)
    assert base != fingerprint("health_code", "k", CP1)
    assert base != fingerprint("fever", "k2", CP1)
    assert base != fingerprint("fever", "k", CP1.model_copy(update={"checkpoint_id": "cp-2"}))


def test_compound_is_the_place_when_the_checkpoint_is_unknown_and_never_collides_with_one() -> None:
    compound_only = Place(compound_id="x-1")
    checkpoint_only = Place(checkpoint_id="x-1")
    assert place_key(compound_only) == "compound:x-1"
    assert place_key(CP1) == "checkpoint:cp-1"
    assert fingerprint("r", "", compound_only) != fingerprint("r", "", checkpoint_only)
    assert place_key(Place()) == ""


def test_rule_subject_wins_over_the_person_key_and_no_subject_is_empty() -> None:
    dwelling = Finding("overcrowded", 1, Severity.WARNING, "超员", "Overcrowded", subject="dwelling:d-1")
    assert subject_of(dwelling, _at(CP1, subject_key="k")) == "dwelling:d-1"
    assert subject_of(FINDING, _at(CP1, subject_key="")) == ""
    one = build_alert(FINDING, _at(CP1, "e1", subject_key=""), detected_at=NIGHT)
    two = build_alert(FINDING, _at(CP1, "e2", subject_key=""), detected_at=NIGHT)
    assert one.fingerprint == two.fingerprint == fingerprint("fever", "", CP1)


def test_related_events_follow_the_triggering_event_without_changing_the_id() -> None:
    journey = Finding("impossible_journey", 1, Severity.HIGH, "行程异常", "Impossible journey",
                      related_event_ids=("e0", "e1"))
    alert = build_alert(journey, _event("e1"), detected_at=NIGHT)
    assert alert.event_ids == ("e1", "e0")
    assert alert.alert_id == alert_id("impossible_journey", 1, ("e1",))


def test_dwelling_of_the_event_is_preferred_to_the_home_dwelling() -> None:
    visit = _event("e1").model_copy(update={"dwelling_id": "d-visit"})
    assert build_alert(FINDING, visit, detected_at=NIGHT).dwelling_id == "d-visit"
    assert build_alert(FINDING, _event("e1"), detected_at=NIGHT).dwelling_id == "d-1"
