"""The stateful rules over event time: anti-passback, fever re-measurement, travel, crowding, silence."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Generic, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas import Checkpoint, EnrichedEvent, Severity
from streams.alerts import fingerprint
from streams.geo import distance_m
from streams.rules.base import Finding
from streams.rules.bypass import HISTORY, BypassEntry, GateHistory, PendingChecks
from streams.rules.fever import Fever, FeverReading
from streams.rules.overcrowded import DwellingOvercrowded, DwellingSeen
from streams.rules.silent import CheckpointHeard, SilentCheckpoint, open_since
from streams.rules.state import MemoryState
from streams.rules.travel import ImpossibleTravel, LastFix
from tests.factories import CST, DINGYANG_CP, DINGYANG_GATE, NIGHT, enriched_event

V = TypeVar("V", bound=BaseModel)

RESIDENT = {"subject_key": "key-resident", "home_compound_id": "co-dy-01", "home_dwelling_id": "dy-01-3-201"}
OUTSIDER = {"subject_key": "key-outsider", "home_compound_id": "", "home_dwelling_id": ""}
INSIDE = {"event_type": "sighting", "sighting_kind": "household_visit", "checkpoint_kind": None, "direction": None,
          "place": DINGYANG_GATE.model_copy(update={"checkpoint_id": ""}), "lat": None, "lon": None}


def at(minutes: float = 0, hours: float = 0) -> datetime:
    return NIGHT + timedelta(minutes=minutes, hours=hours)


def ev(event_id: str, when: datetime = NIGHT, **kw: Any) -> EnrichedEvent:
    return enriched_event(event_id, event_time=when, **kw)


class JsonState(Generic[V]):
    """What the worker does: every value goes through JSON, as in a Faust table."""

    def __init__(self, model: type[V]) -> None:
        self._model = model
        self._values: dict[str, str] = {}

    def get(self, key: str) -> V | None:
        raw = self._values.get(key)
        return None if raw is None else self._model.model_validate_json(raw)

    def put(self, key: str, value: V) -> None:
        self._values[key] = value.model_dump_json()

    def delete(self, key: str) -> None:
        self._values.pop(key, None)


# bypass_entry ----------------------------------------------------------------

def test_bypass_an_entry_uploaded_after_the_sighting_resolves_its_alert() -> None:
    rule = bypass()
    assert rule.evaluate(ev("out", at(0), direction="out", **OUTSIDER)) is not None  # no entry: flagged
    rule = bypass()
    assert rule.evaluate(ev("in-old", at(0), **OUTSIDER)) is None
    assert rule.evaluate(ev("out-old", at(10), direction="out", **OUTSIDER)) is None
    flagged = rule.evaluate(ev("inner-scan", at(61), **INSIDE, **OUTSIDER))  # last passage: out
    assert flagged is not None and flagged.scope == "compound" and not flagged.resolves
    late = rule.evaluate(ev("in-late", at(60), **OUTSIDER))  # the gate's upload arrives a minute later
    assert late is not None and late.resolves and late.scope == "compound"
    assert "uploaded late" in late.summary_en
    assert rule.evaluate(ev("in-again", at(60.5), **OUTSIDER)) is None  # the flag is spent


def test_bypass_an_entry_before_a_later_exit_does_not_explain_a_sighting_after_it() -> None:
    rule = bypass()
    assert rule.evaluate(ev("in", at(0), **OUTSIDER)) is None
    assert rule.evaluate(ev("out", at(30), direction="out", **OUTSIDER)) is None
    assert rule.evaluate(ev("seen", at(40), **INSIDE, **OUTSIDER)) is not None
    assert rule.evaluate(ev("in-late", at(20), **OUTSIDER)) is None  # before the exit: the sighting stands


def bypass(**kw: Any) -> BypassEntry:
    return BypassEntry(state=MemoryState[GateHistory](), **kw)


def test_seen_inside_after_last_passing_out_is_a_bypass_naming_that_passage() -> None:
    rule = bypass()
    assert rule.evaluate(ev("out", at(0), direction="out", **RESIDENT)) is None  # left, had come in before closure
    finding = rule.evaluate(ev("visit", at(hours=1), **INSIDE, **RESIDENT))
    assert finding is not None and finding.severity is Severity.HIGH and finding.rule_id == "bypass_entry"
    assert finding.related_event_ids == ("out",)
    assert "outward" in finding.summary_en and "1 h 0 min" in finding.summary_en


def test_outsider_seen_inside_with_no_entry_is_a_bypass() -> None:
    finding = bypass().evaluate(ev("patrol", **INSIDE, **OUTSIDER))
    assert finding is not None and finding.related_event_ids == ()
    assert "no passage" in finding.summary_en


def test_first_day_residents_without_history_are_not_flagged_inside_or_leaving() -> None:
    rule = bypass()
    assert rule.evaluate(ev("visit", **INSIDE, **RESIDENT)) is None
    assert rule.evaluate(ev("out", at(5), direction="out", **RESIDENT)) is None


def test_exit_without_entry_is_flagged_for_an_outsider_and_after_a_resident_exit() -> None:
    assert bypass().evaluate(ev("out", direction="out", **OUTSIDER)) is not None
    rule = bypass()
    assert rule.evaluate(ev("out1", at(0), direction="out", **RESIDENT)) is None
    second = rule.evaluate(ev("out2", at(30), direction="out", **RESIDENT))
    assert second is not None and second.related_event_ids == ("out1",)
    assert "Exit with no matching entry" in second.summary_en


def test_outsider_entry_vouches_for_the_control_period_and_not_a_second_longer() -> None:
    rule = bypass(control_period=timedelta(hours=12))
    assert rule.evaluate(ev("in", at(0), **OUTSIDER)) is None
    assert rule.evaluate(ev("edge", at(hours=12), **INSIDE, **OUTSIDER)) is None
    late = rule.evaluate(ev("past", at(hours=12) + timedelta(seconds=1), **INSIDE, **OUTSIDER))
    assert late is not None and late.related_event_ids == ("in",)
    assert "past the control period" in late.summary_en
    assert rule.evaluate(ev("out", at(hours=13), direction="out", **OUTSIDER)) is not None


def test_resident_entry_vouches_however_old_for_home_quarantine_patrols() -> None:
    rule = bypass(control_period=timedelta(hours=12))
    assert rule.evaluate(ev("in", at(0), **RESIDENT)) is None
    assert rule.evaluate(ev("patrol", at(hours=72), **(INSIDE | {"sighting_kind": "patrol_check"}), **RESIDENT)) is None
    assert rule.evaluate(ev("out", at(hours=73), direction="out", **RESIDENT)) is None


def test_registered_visit_covers_a_missing_or_old_entry_but_not_a_last_exit() -> None:
    rule = bypass()
    visitor = OUTSIDER | {"visitor_active": True, "visitor_host_dwelling_id": "dy-01-3-201"}
    assert rule.evaluate(ev("seen", at(0), **INSIDE, **visitor)) is None
    assert rule.evaluate(ev("out", at(10), direction="out", **visitor)) is None
    assert rule.evaluate(ev("again", at(20), **INSIDE, **visitor)) is not None


def test_open_compounds_and_vehicles_are_not_judged() -> None:
    assert bypass().evaluate(ev("visit", **(INSIDE | {"compound_closed": False}), **OUTSIDER)) is None
    assert bypass().evaluate(ev("out", direction="out", compound_closed=False, **OUTSIDER)) is None
    van = ev("van", direction="out", subject_kind="vehicle", subject_key="", subject_masked="浙H***45")
    assert bypass().evaluate(van) is None


def test_inner_checkpoint_event_is_a_sighting_and_a_gate_scan_is_an_entry() -> None:
    rule = bypass()
    inner = {"event_type": "qr_scan", "checkpoint_kind": "inner", "direction": None}
    assert rule.evaluate(ev("inner1", at(0), **inner, **OUTSIDER)) is not None
    assert rule.evaluate(ev("gate-scan", at(1), event_type="qr_scan", direction=None, **OUTSIDER)) is None
    assert rule.evaluate(ev("inner2", at(2), **inner, **OUTSIDER)) is None


def test_passages_are_kept_per_compound() -> None:
    rule = bypass()
    assert rule.evaluate(ev("in", at(0), **OUTSIDER)) is None
    elsewhere = DINGYANG_GATE.model_copy(update={"compound_id": "co-wf-01", "checkpoint_id": ""})
    assert rule.evaluate(ev("visit", at(5), **(INSIDE | {"place": elsewhere}), **OUTSIDER)) is not None


def test_late_sighting_is_judged_against_the_passages_before_its_own_time() -> None:
    rule = bypass()
    assert rule.evaluate(ev("in", at(0), **OUTSIDER)) is None
    assert rule.evaluate(ev("out", at(60), direction="out", **OUTSIDER)) is None
    assert rule.evaluate(ev("late-inside", at(30), **INSIDE, **OUTSIDER)) is None  # arrives after the exit
    after = rule.evaluate(ev("after-exit", at(90), **INSIDE, **OUTSIDER))
    assert after is not None and after.related_event_ids == ("out",)


def test_late_passage_is_filed_in_event_time_order() -> None:
    rule = bypass()
    assert rule.evaluate(ev("out", at(60), direction="out", **RESIDENT)) is None
    assert rule.evaluate(ev("in-late", at(90), **RESIDENT)) is None
    assert rule.evaluate(ev("out-early", at(30), direction="out", **RESIDENT)) is None  # filed before "out"
    assert rule.evaluate(ev("visit", at(120), **INSIDE, **RESIDENT)) is None  # last is still the 90-minute entry


def test_replayed_exit_does_not_flag_itself() -> None:
    rule = bypass()
    assert rule.evaluate(ev("in", at(0), **OUTSIDER)) is None
    assert rule.evaluate(ev("out", at(10), direction="out", **OUTSIDER)) is None
    assert rule.evaluate(ev("out", at(10), direction="out", **OUTSIDER)) is None


def test_sighting_older_than_the_bounded_history_is_let_through() -> None:
    rule = bypass()
    for i in range(HISTORY):
        rule.evaluate(ev(f"p{i}", at(hours=10 + i), direction="out" if i % 2 else "in", **OUTSIDER))
    assert rule.evaluate(ev("ancient", at(0), **INSIDE, **OUTSIDER)) is None
    assert rule.evaluate(ev("now", at(hours=10 + HISTORY), **INSIDE, **OUTSIDER)) is not None  # last was "out"


def holding(minutes: float = 3) -> BypassEntry:
    return BypassEntry(state=MemoryState[GateHistory](), pending=MemoryState[PendingChecks](),
                       confirm_after=timedelta(minutes=minutes))


def test_held_sighting_becomes_an_alert_about_itself_once_the_watermark_has_passed_it() -> None:
    rule = holding(3)
    assert rule.evaluate(ev("patrol", at(0), **INSIDE, **OUTSIDER)) is None  # held, not alerted
    assert rule.confirm(at(2.9)) == []  # not due yet
    [(finding, event)] = rule.confirm(at(3))
    assert finding.rule_id == "bypass_entry" and finding.severity is Severity.HIGH and finding.scope == "compound"
    assert event.event_id == "patrol" and "no passage" in finding.summary_en
    assert rule.confirm(at(10)) == []  # confirmed once


def test_gate_entry_uploaded_within_the_hold_means_no_alert_at_all() -> None:
    rule = holding(3)
    assert rule.evaluate(ev("inner-scan", at(1), **INSIDE, **OUTSIDER)) is None
    assert rule.evaluate(ev("in-late", at(0.5), **OUTSIDER)) is None  # the gate's upload, a minute later: no retraction
    assert rule.confirm(at(10)) == []


def test_held_sighting_is_judged_against_the_passages_filed_by_its_confirmation() -> None:
    rule = holding(3)
    assert rule.evaluate(ev("seen", at(40), **INSIDE, **OUTSIDER)) is None  # held: no passage on record yet
    assert rule.evaluate(ev("out-late", at(30), direction="out", **OUTSIDER)) is None  # an exit, uploaded late
    found = {event.event_id: finding for finding, event in rule.confirm(at(43))}
    assert found["seen"].related_event_ids == ("out-late",) and "outward" in found["seen"].summary_en
    assert "Exit with no matching entry" in found["out-late"].summary_en  # held in its own right


def test_entry_uploaded_after_the_alert_still_resolves_it() -> None:
    rule = holding(3)
    assert rule.evaluate(ev("seen", at(10), **INSIDE, **OUTSIDER)) is None
    assert len(rule.confirm(at(13))) == 1
    late = rule.evaluate(ev("in-very-late", at(9), **OUTSIDER))
    assert late is not None and late.resolves and late.related_event_ids == ("seen",)


def test_held_exit_is_confirmed_as_an_exit() -> None:
    rule = holding(3)
    assert rule.evaluate(ev("out", at(0), direction="out", **OUTSIDER)) is None
    [(finding, event)] = rule.confirm(at(5))
    assert "Exit with no matching entry" in finding.summary_en and event.event_id == "out"


def test_pending_index_is_per_index_and_emptied_once_confirmed() -> None:
    pending = MemoryState[PendingChecks]()
    rule = BypassEntry(state=MemoryState[GateHistory](), pending=pending, confirm_after=timedelta(minutes=3),
                       index_of=lambda person_key: f"p-{person_key}")
    rule.evaluate(ev("patrol", at(0), **INSIDE, **OUTSIDER))
    assert rule.confirm(at(5), "p-someone-else") == []
    assert len(rule.confirm(at(5), "p-key-outsider")) == 1
    assert len(pending) == 0


def test_holding_without_a_pending_index_is_refused() -> None:
    with pytest.raises(ValueError, match="pending index"):
        BypassEntry(state=MemoryState[GateHistory](), confirm_after=timedelta(minutes=3))


# fever -----------------------------------------------------------------------

def fever(**kw: Any) -> Fever:
    return Fever(state=MemoryState[FeverReading](), **kw)


def reading(event_id: str, t: float, when: datetime, **kw: Any) -> EnrichedEvent:
    return ev(event_id, when, temperature_c=t, **kw)


def test_fever_v2_fires_at_the_threshold_as_before() -> None:
    finding = fever(threshold_c=37.3).evaluate(reading("e", 37.3, at(0)))
    assert finding is not None and finding.severity is Severity.HIGH and not finding.resolves
    assert (finding.rule_id, finding.rule_version) == ("fever", 2)
    assert fever(threshold_c=37.3).evaluate(reading("e", 37.2, at(0))) is None


def test_normal_re_measurement_within_minutes_resolves_the_fever_alert() -> None:
    rule = fever()
    assert rule.evaluate(reading("hot", 37.6, at(0))) is not None
    resolved = rule.evaluate(reading("ok", 36.6, at(3)))
    assert resolved is not None and resolved.resolves
    assert "re-measured normal: 36.6 °C within 3 minutes" in resolved.summary_en
    assert "37.6" in resolved.summary_en and "36.6" in resolved.summary_zh
    assert resolved.related_event_ids == ("hot",)
    assert rule.evaluate(reading("ok-again", 36.5, at(4))) is None  # already resolved


@pytest.mark.parametrize(
    ("after", "resolves"), [(timedelta(minutes=10), True), (timedelta(minutes=10, seconds=1), False)]
)
def test_re_measurement_window_boundary(after: timedelta, resolves: bool) -> None:
    rule = fever(remeasure_window=timedelta(minutes=10))
    rule.evaluate(reading("hot", 37.8, at(0)))
    finding = rule.evaluate(reading("ok", 36.6, at(0) + after))
    assert (finding is not None and finding.resolves) is resolves


def test_second_high_reading_within_the_window_is_a_repeat_finding() -> None:
    rule = fever()
    rule.evaluate(reading("hot1", 37.8, at(0)))
    repeat = rule.evaluate(reading("hot2", 37.9, at(4)))
    assert repeat is not None and not repeat.resolves and repeat.related_event_ids == ("hot1",)
    assert "still high" in repeat.summary_en
    resolved = rule.evaluate(reading("ok", 36.7, at(12)))  # 8 minutes after the second reading
    assert resolved is not None and resolved.resolves and resolved.related_event_ids == ("hot2",)


def test_normal_reading_of_another_person_or_before_the_fever_does_not_resolve() -> None:
    rule = fever()
    rule.evaluate(reading("hot", 37.8, at(5)))
    assert rule.evaluate(reading("other", 36.6, at(6), subject_key="key-other")) is None
    assert rule.evaluate(reading("earlier", 36.6, at(1))) is None  # late, taken before the fever
    resolved = rule.evaluate(reading("ok", 36.6, at(7)))
    assert resolved is not None and resolved.resolves


def test_late_fever_reading_fires_but_keeps_the_later_one_for_re_measurement() -> None:
    rule = fever()
    rule.evaluate(reading("hot-new", 38.0, at(20)))
    late = rule.evaluate(reading("hot-old", 37.5, at(0)))
    assert late is not None and not late.resolves
    resolved = rule.evaluate(reading("ok", 36.6, at(25)))
    assert resolved is not None and resolved.related_event_ids == ("hot-new",)


# impossible_travel -----------------------------------------------------------

FAR = {"place": DINGYANG_GATE.model_copy(update={"checkpoint_id": "cp-far"}),
       "lat": DINGYANG_CP.lat + 0.045, "lon": DINGYANG_CP.lon}  # 5.0 km north
NEAR = {"place": DINGYANG_GATE.model_copy(update={"checkpoint_id": "cp-near"}),
        "lat": DINGYANG_CP.lat + 0.0009, "lon": DINGYANG_CP.lon}  # 100 m north
BIKE = {"place": DINGYANG_GATE.model_copy(update={"checkpoint_id": "cp-bike"}),
        "lat": DINGYANG_CP.lat + 0.0036, "lon": DINGYANG_CP.lon}  # 400 m north


def travel(**kw: Any) -> ImpossibleTravel:
    return ImpossibleTravel(state=MemoryState[LastFix](), **kw)


def test_distance_is_about_111_km_per_degree_of_latitude() -> None:
    assert distance_m(28.0, 118.0, 29.0, 118.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(DINGYANG_CP.lat, DINGYANG_CP.lon, FAR["lat"], FAR["lon"]) == pytest.approx(5_004, rel=1e-2)


def test_two_places_at_once_is_a_critical_shared_or_cloned_code() -> None:
    rule = travel()
    assert rule.evaluate(ev("here", at(0))) is None
    finding = rule.evaluate(ev("there", at(0.5), **FAR))
    assert finding is not None and finding.severity is Severity.CRITICAL
    assert "cloned code" in finding.summary_en and finding.related_event_ids == ("here",)


def test_faster_than_allowed_beyond_the_same_time_window_is_high() -> None:
    rule = travel(max_speed_kmh=60)
    rule.evaluate(ev("here", at(0)))
    finding = rule.evaluate(ev("there", at(4), **FAR))  # 5 km in 4 min: 75 km/h
    assert finding is not None and finding.severity is Severity.HIGH
    assert "Impossible travel" in finding.summary_en and "75 km/h" in finding.summary_en


def test_possible_journeys_same_checkpoint_and_neighbouring_gates_are_quiet() -> None:
    rule = travel()
    rule.evaluate(ev("a", at(0)))
    assert rule.evaluate(ev("b", at(0.1))) is None  # same checkpoint, seconds apart
    assert rule.evaluate(ev("c", at(0.2), **NEAR)) is None  # 100 m: below min_distance_m
    assert rule.evaluate(ev("d", at(2.2), **BIKE)) is None  # 300 m more in 2 min: a bicycle
    assert rule.evaluate(ev("e", at(13), **FAR)) is None  # 4.6 km in 11 min: 25 km/h


def test_out_of_order_events_compare_by_absolute_time_and_keep_the_latest() -> None:
    rule = travel()
    rule.evaluate(ev("latest", at(10)))
    assert rule.evaluate(ev("early", at(0), **FAR)) is None  # 10 minutes earlier: 30 km/h
    clash = rule.evaluate(ev("late-clash", at(9.5), **FAR))
    assert clash is not None and clash.severity is Severity.CRITICAL
    assert rule.evaluate(ev("next", at(11))) is None  # still compared with "latest", not the late one


def test_a_journey_is_one_condition_named_the_same_whichever_of_its_events_arrives_first() -> None:
    in_order, reversed_ = travel(), travel()
    in_order.evaluate(ev("here", at(0)))
    first = in_order.evaluate(ev("there", at(0.5), **FAR))
    reversed_.evaluate(ev("there", at(0.5), **FAR))  # a replay after a crash took the uploads the other way round
    second = reversed_.evaluate(ev("here", at(0)))
    assert first is not None and second is not None
    assert (first.scope, first.summary_en) == (second.scope, second.summary_en) == ("subject", first.summary_en)
    assert fingerprint(first.rule_id, "pk", DINGYANG_GATE, first.scope) == fingerprint(
        second.rule_id, "pk", FAR["place"], second.scope)  # type: ignore[arg-type]


def test_events_without_location_or_person_are_skipped() -> None:
    rule = travel()
    assert rule.evaluate(ev("a", at(0), lat=None, lon=None)) is None
    assert rule.evaluate(ev("b", at(0.1), subject_key="", **FAR)) is None
    rule.evaluate(ev("c", at(0)))
    assert rule.evaluate(ev("c", at(0))) is None  # a replay of the stored event


# dwelling_overcrowded --------------------------------------------------------

FLAT = "dy-01-3-201"


def visit(event_id: str, person: str, when: datetime, **kw: Any) -> EnrichedEvent:
    base = INSIDE | {"subject_key": person, "dwelling_id": FLAT, "dwelling_registered": 2}
    return ev(event_id, when, **(base | kw))


def crowding(**kw: Any) -> DwellingOvercrowded:
    return DwellingOvercrowded(state=MemoryState[DwellingSeen](), **kw)


def run(rule: Any, events: list[EnrichedEvent]) -> list[Finding]:
    return [f for e in events if (f := rule.evaluate(e)) is not None]


def test_lantern_festival_flat_five_people_for_two_registered_is_one_finding() -> None:
    people = [visit(f"v{i}", f"p{i}", at(10 * i)) for i in range(5)]
    findings = run(crowding(margin=2), [*people, *people[:3]])  # seen again: still five
    assert len(findings) == 1
    (finding,) = findings
    assert finding.subject == f"dwelling:{FLAT}" and finding.rule_id == "dwelling_overcrowded"
    assert "5 distinct persons" in finding.summary_en and "2 registered" in finding.summary_en
    assert finding.related_event_ids == ("v0", "v1", "v2", "v3")


def test_four_people_in_a_two_person_dwelling_with_margin_two_is_quiet() -> None:
    assert run(crowding(margin=2), [visit(f"v{i}", f"p{i}", at(i)) for i in range(4)]) == []


def test_a_rising_count_repeats_and_a_new_crossing_fires_again() -> None:
    rule = crowding(window=timedelta(hours=6), margin=2)
    first = run(rule, [visit(f"v{i}", f"p{i}", at(i)) for i in range(6)])
    assert [f.summary_en.split(":")[1].split()[0] for f in first] == ["5", "6"]
    # seven hours on, the window holds one person: below the limit, then crowded anew
    later = run(rule, [visit(f"w{i}", f"q{i}", at(hours=7) + timedelta(minutes=i)) for i in range(5)])
    assert len(later) == 1 and "5 distinct" in later[0].summary_en


def test_window_prunes_by_event_time_and_ignores_events_older_than_it() -> None:
    rule = crowding(window=timedelta(hours=6), margin=2)
    assert run(rule, [visit(f"v{i}", f"p{i}", at(i)) for i in range(4)]) == []
    assert rule.evaluate(visit("v4", "p4", at(hours=6, minutes=4))) is None  # the first has left the window
    assert rule.evaluate(visit("old", "p9", at(0))) is None  # late and outside the window


def test_late_event_inside_the_window_still_counts() -> None:
    rule = crowding(margin=2)
    assert run(rule, [visit(f"v{i}", f"p{i}", at(60 + i)) for i in range(4)]) == []
    late = rule.evaluate(visit("late", "p-late", at(0)))
    assert late is not None and "5 distinct" in late.summary_en


def test_visitors_count_at_their_host_and_residents_entering_at_home() -> None:
    rule = crowding(margin=2)
    assert rule.evaluate(visit("v0", "p0", at(0))) is None  # tells the rule: 2 registered
    resident = ev("r1", at(1), **RESIDENT, dwelling_registered=2)  # inward at own compound
    assert rule.evaluate(resident) is None
    guests = [
        ev(f"g{i}", at(2 + i), subject_key=f"guest{i}", visitor_active=True, visitor_host_dwelling_id=FLAT,
           dwelling_registered=None)
        for i in range(3)
    ]
    findings = run(rule, guests)
    assert len(findings) == 1 and "5 distinct" in findings[0].summary_en


def test_without_a_known_registered_count_nothing_is_judged() -> None:
    guests = [ev(f"g{i}", at(i), subject_key=f"guest{i}", visitor_active=True, visitor_host_dwelling_id=FLAT)
              for i in range(6)]
    assert run(crowding(), guests) == []


def test_leaving_or_visiting_another_compound_does_not_count_at_home() -> None:
    rule = crowding(margin=0)
    assert rule.evaluate(ev("out", direction="out", **RESIDENT, dwelling_registered=0)) is None
    away = DINGYANG_GATE.model_copy(update={"compound_id": "co-wf-01"})
    assert rule.evaluate(ev("away", place=away, **RESIDENT, dwelling_registered=0)) is None
    assert rule.evaluate(ev("home", **RESIDENT, dwelling_registered=0)) is not None  # margin 0: one is too many


# silent_checkpoint -----------------------------------------------------------

DAY_POST = DINGYANG_CP.model_copy(update={"opens": time(6, 0), "closes": time(22, 0)})
NIGHT_POST = DINGYANG_CP.model_copy(update={"checkpoint_id": "cp-night", "opens": time(20, 0), "closes": time(4, 0)})
MORNING = datetime(2020, 2, 9, 8, 0, tzinfo=CST)


def morning(minutes: float = 0, hours: float = 0) -> datetime:
    return MORNING + timedelta(minutes=minutes, hours=hours)


def silent(**kw: Any) -> SilentCheckpoint:
    return SilentCheckpoint(state=MemoryState[CheckpointHeard](), **kw)


def at_post(event_id: str, when: datetime, cp: Checkpoint = DAY_POST) -> EnrichedEvent:
    return ev(event_id, when, place=DINGYANG_GATE.model_copy(update={"checkpoint_id": cp.checkpoint_id}))


def test_silence_in_opening_hours_is_reported_once_and_resolved_by_the_next_event() -> None:
    rule = silent(silence=timedelta(minutes=60))
    assert rule.evaluate(at_post("e1", morning(0))) is None
    assert rule.tick(morning(60), [DAY_POST]) == []  # exactly the silence: not yet
    (finding,) = rule.tick(morning(61), [DAY_POST])
    assert finding.subject == "checkpoint:cp-dy-050" and not finding.resolves
    assert "61 min" in finding.summary_en and DAY_POST.name in finding.summary_zh
    assert rule.tick(morning(90), [DAY_POST]) == []  # once per silence
    back = rule.evaluate(at_post("e2", morning(95)))
    assert back is not None and back.resolves and back.subject == "checkpoint:cp-dy-050"
    assert "reporting again" in back.summary_en
    assert rule.evaluate(at_post("e3", morning(96))) is None
    assert len(rule.tick(morning(157), [DAY_POST])) == 1  # a new silence is reported again


def test_closed_checkpoint_is_not_reported_and_opening_restarts_the_clock() -> None:
    rule = silent(silence=timedelta(minutes=60))
    rule.evaluate(at_post("e1", datetime(2020, 2, 8, 21, 30, tzinfo=CST)))
    assert rule.tick(datetime(2020, 2, 8, 23, 45, tzinfo=CST), [DAY_POST]) == []  # closed
    assert rule.tick(datetime(2020, 2, 9, 6, 30, tzinfo=CST), [DAY_POST]) == []  # open for 30 minutes
    assert rule.tick(datetime(2020, 2, 9, 7, 0, tzinfo=CST), [DAY_POST]) == []
    (finding,) = rule.tick(datetime(2020, 2, 9, 7, 1, tzinfo=CST), [DAY_POST])
    assert "61 min" in finding.summary_en


def test_opening_hours_across_midnight() -> None:
    assert open_since(datetime(2020, 2, 9, 2, 0, tzinfo=CST), time(20, 0), time(4, 0)) == datetime(
        2020, 2, 8, 20, 0, tzinfo=CST
    )
    assert open_since(datetime(2020, 2, 9, 21, 0, tzinfo=CST), time(20, 0), time(4, 0)) == datetime(
        2020, 2, 9, 20, 0, tzinfo=CST
    )
    assert open_since(datetime(2020, 2, 9, 12, 0, tzinfo=CST), time(20, 0), time(4, 0)) is None
    assert open_since(datetime(2020, 2, 9, 4, 0, tzinfo=CST), time(20, 0), time(4, 0)) is None  # closes at 04:00
    utc_evening = datetime(2020, 2, 9, 21, 0, tzinfo=CST).astimezone(UTC)  # 21:00 local, 13:00 UTC
    assert open_since(utc_evening, time(20, 0), time(4, 0)) is not None
    rule = silent(silence=timedelta(minutes=60))
    rule.evaluate(at_post("n1", datetime(2020, 2, 9, 0, 30, tzinfo=CST), NIGHT_POST))
    assert len(rule.tick(datetime(2020, 2, 9, 1, 31, tzinfo=CST), [NIGHT_POST])) == 1
    rule2 = silent(silence=timedelta(minutes=60))
    rule2.evaluate(at_post("n1", datetime(2020, 2, 9, 3, 30, tzinfo=CST), NIGHT_POST))
    assert rule2.tick(datetime(2020, 2, 9, 12, 0, tzinfo=CST), [NIGHT_POST]) == []


def test_never_heard_checkpoint_is_measured_from_the_first_tick_that_saw_it() -> None:
    rule = silent(silence=timedelta(minutes=60))
    always = DINGYANG_CP  # no hours: always open
    assert rule.tick(morning(0), [always]) == []
    assert rule.tick(morning(60), [always]) == []
    (finding,) = rule.tick(morning(61), [always])
    assert "never heard" in finding.summary_en


def test_late_event_does_not_move_the_last_event_time_back() -> None:
    rule = silent(silence=timedelta(minutes=60))
    rule.evaluate(at_post("e1", morning(0)))
    rule.evaluate(at_post("late", morning(-30)))
    assert len(rule.tick(morning(61), [DAY_POST])) == 1


def test_backlog_older_than_the_report_moves_time_on_and_the_first_live_event_resolves() -> None:
    rule = silent(silence=timedelta(minutes=60))
    rule.evaluate(at_post("e1", morning(0)))
    assert len(rule.tick(morning(120), [DAY_POST])) == 1
    assert rule.evaluate(at_post("backlog1", morning(70))) is None  # the alert book would ignore it anyway
    assert rule.evaluate(at_post("backlog2", morning(110))) is None
    live = rule.evaluate(at_post("live", morning(121)))
    assert live is not None and live.resolves
    assert rule.tick(morning(181), [DAY_POST]) == []  # silent only 60 minutes since the live event
    assert len(rule.tick(morning(182), [DAY_POST])) == 1


def test_perimeter_reports_and_unknown_checkpoints_do_not_count_as_reporting() -> None:
    rule = silent(silence=timedelta(minutes=60))
    rule.evaluate(at_post("e1", morning(0)))
    rule.evaluate(ev("wall", morning(30), event_type="perimeter_report", direction=None))
    assert rule.evaluate(ev("x", morning(40), misses=("checkpoint",))) is None
    assert len(rule.tick(morning(61), [DAY_POST])) == 1


# determinism -----------------------------------------------------------------

def fresh_rules(state: str) -> tuple[list[Any], SilentCheckpoint]:
    def make(model: type[V]) -> Any:
        return MemoryState[model]() if state == "memory" else JsonState(model)  # type: ignore[valid-type]

    rules = [
        BypassEntry(state=make(GateHistory)),
        Fever(state=make(FeverReading)),
        ImpossibleTravel(state=make(LastFix)),
        DwellingOvercrowded(state=make(DwellingSeen)),
    ]
    return rules, SilentCheckpoint(state=make(CheckpointHeard))


PLACES = [DINGYANG_GATE, FAR["place"], NEAR["place"]]
COORDS = [(DINGYANG_CP.lat, DINGYANG_CP.lon), (FAR["lat"], FAR["lon"]), (NEAR["lat"], NEAR["lon"])]

event_strategy = st.builds(
    lambda minute, person, where, kind, direction, temp, dwelling, resident, visitor: ev(
        "e",  # replaced below by position
        at(minute),
        subject_key=f"k{person}",
        home_compound_id="co-dy-01" if resident else "",
        home_dwelling_id=f"d{person % 2}" if resident else "",
        place=PLACES[where],
        lat=COORDS[where][0],
        lon=COORDS[where][1],
        event_type="sighting" if kind == "sighting" else "passage",
        checkpoint_kind=None if kind == "sighting" else kind,
        direction=None if kind == "sighting" else direction,
        temperature_c=temp,
        dwelling_id=f"d{dwelling}" if dwelling is not None else "",
        dwelling_registered=1,
        visitor_active=visitor,
        visitor_host_dwelling_id="d0" if visitor else "",
    ),
    st.integers(0, 24 * 60),
    st.integers(0, 5),
    st.integers(0, 2),
    st.sampled_from(["gate", "inner", "sighting"]),
    st.sampled_from(["in", "out"]),
    st.one_of(st.none(), st.sampled_from([36.4, 37.2, 37.3, 38.1])),
    st.one_of(st.none(), st.integers(0, 1)),
    st.booleans(),
    st.booleans(),
)


def replay(events: list[EnrichedEvent], state: str) -> list[Finding]:
    rules, quiet = fresh_rules(state)
    findings: list[Finding] = []
    for e in events:
        findings.extend(f for r in rules if (f := r.evaluate(e)) is not None)
        if (resolved := quiet.evaluate(e)) is not None:
            findings.append(resolved)
        findings.extend(quiet.tick(e.event_time, [DAY_POST, NIGHT_POST]))
    return findings


@settings(max_examples=60, deadline=None)
@given(st.lists(event_strategy, max_size=40))
def test_same_events_into_fresh_state_give_the_same_findings(raw: list[EnrichedEvent]) -> None:
    events = [e.model_copy(update={"event_id": f"e{i}"}) for i, e in enumerate(raw)]
    first = replay(events, "memory")
    assert replay(events, "memory") == first
    assert replay(events, "json") == first  # state that went through JSON, as in a Faust table
