"""The stateless issue-4 rules over events enriched from a tiny register, and the register comparison."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from schemas import EnrichedEvent, HealthCode, RiskArea, Severity
from streams.enrich import Enricher
from streams.master import MemoryMaster
from streams.privacy import PersonKeys
from streams.rules.base import Finding
from streams.rules.late_night import LateNightEntry, in_window
from streams.rules.quarantine import QuarantineBreach
from streams.rules.register_mismatch import RegisterMismatch, stood_then
from streams.rules.risk_area import RiskAreaArrival
from streams.rules.unregistered import UnregisteredPerson
from tests.factories import (
    COMPOUNDS,
    CST,
    DINGYANG_CP,
    DINGYANG_INNER,
    FLAT_TENANT,
    NIGHT,
    OUTSIDER_ID,
    RENTED_FLAT,
    RESIDENT_ID,
    RESIDENTS,
    RETURNEE_ID,
    RISK_AREAS,
    WENFENG_CP,
    order,
    passage,
    person_record,
    scan,
    sighting,
    visit,
)

KEYS = PersonKeys(secret=b"test")
RAW_IDS = (RESIDENT_ID, RETURNEE_ID, OUTSIDER_ID, FLAT_TENANT.id_number)


def enrich(event: Any, **extra: Any) -> EnrichedEvent:
    registers: dict[str, Any] = {
        "residents": (*RESIDENTS, FLAT_TENANT),
        "checkpoints": (DINGYANG_CP, WENFENG_CP, DINGYANG_INNER),
        "compounds": COMPOUNDS,
        "risk_areas": RISK_AREAS,
    }
    return Enricher(master=MemoryMaster(KEYS, **(registers | extra)), keys=KEYS).enrich(event)


def assert_no_raw_id(finding: Finding) -> None:
    text = finding.summary_zh + finding.summary_en + finding.action + finding.subject
    assert not any(raw in text for raw in RAW_IDS)


# risk-area arrival -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "severity"), [("330105", Severity.HIGH), ("420106", Severity.CRITICAL)])
def test_arrival_from_a_risk_area_without_quarantine_order_alerts(declared: str, severity: Severity) -> None:
    finding = RiskAreaArrival().evaluate(enrich(passage("e", id_number=OUTSIDER_ID, declared_origin=declared)))
    assert finding is not None and finding.severity is severity and finding.rule_id == "risk_area_arrival"
    assert declared in finding.summary_en and "quarantine" in finding.action
    assert_no_raw_id(finding)


def test_arrival_under_an_active_quarantine_order_is_quiet_until_the_order_ends() -> None:
    rule = RiskAreaArrival()
    assert rule.evaluate(enrich(passage("e", declared_origin="330105"), orders=(order(),))) is None
    ended = order(ends_at=NIGHT)  # ends exactly at the arrival: no longer in force
    assert rule.evaluate(enrich(passage("e", declared_origin="330105"), orders=(ended,))) is not None


def test_green_unknown_or_undeclared_origin_and_departures_are_quiet() -> None:
    rule = RiskAreaArrival()
    assert rule.evaluate(enrich(passage("e", declared_origin="330103"))) is None  # no risk entry: unknown
    lifted = RiskArea(division_code="330105", colour="green", valid_from=NIGHT - timedelta(days=1))
    assert rule.evaluate(enrich(passage("e", declared_origin="330105"), risk_areas=(*RISK_AREAS, lifted))) is None
    assert rule.evaluate(enrich(passage("e", declared_origin="420106", direction="out"))) is None
    # a Wuhan card alone is an inference about origin, origin_mismatch's business, not a declared arrival
    assert rule.evaluate(enrich(passage("e", id_number=OUTSIDER_ID))) is None


def test_risk_colour_counts_from_its_valid_from() -> None:
    before = datetime(2020, 1, 31, 23, 59, tzinfo=CST)  # Gongshu turned yellow on 1 Feb
    assert RiskAreaArrival().evaluate(enrich(passage("e", declared_origin="330105", event_time=before))) is None


# quarantine breach -----------------------------------------------------------------------------------------

def test_passing_own_gate_outward_under_quarantine_is_a_critical_breach() -> None:
    finding = QuarantineBreach().evaluate(enrich(passage("e", direction="out"), orders=(order(),)))
    assert finding is not None and finding.severity is Severity.CRITICAL
    assert "outward" in finding.summary_en
    assert_no_raw_id(finding)


def test_being_seen_at_another_compound_is_a_breach() -> None:
    rule = QuarantineBreach()
    wf_scan = scan("e", checkpoint_id=WENFENG_CP.checkpoint_id, community_code="wenfeng")
    finding = rule.evaluate(enrich(wf_scan, orders=(order(),)))
    assert finding is not None and "co-wf-01" in finding.summary_en
    assert rule.evaluate(enrich(passage("e", checkpoint_id=WENFENG_CP.checkpoint_id), orders=(order(),))) is not None


def test_entering_own_compound_or_a_check_at_the_own_dwelling_is_no_breach() -> None:
    rule = QuarantineBreach()
    assert rule.evaluate(enrich(passage("e"), orders=(order(),))) is None
    at_home = sighting("s", id_number=RESIDENT_ID, dwelling_id="dy-01-3-201")
    assert rule.evaluate(enrich(at_home, orders=(order(),))) is None
    patrol = sighting("s", id_number=RESIDENT_ID, kind="patrol_check", dwelling_id=None)
    assert rule.evaluate(enrich(patrol, orders=(order(),))) is None


def test_found_at_another_dwelling_or_scanning_an_inner_point_is_a_breach() -> None:
    rule = QuarantineBreach()
    at_flat = sighting("s", id_number=RESIDENT_ID, dwelling_id=RENTED_FLAT)
    inner = sighting("s", id_number=RESIDENT_ID, kind="inner_scan", checkpoint_id=DINGYANG_INNER.checkpoint_id,
                     dwelling_id=None)
    flat_finding = rule.evaluate(enrich(at_flat, orders=(order(),)))
    inner_finding = rule.evaluate(enrich(inner, orders=(order(),)))
    assert flat_finding is not None and "another dwelling" in flat_finding.summary_en
    assert RENTED_FLAT not in flat_finding.summary_en
    assert inner_finding is not None and "inner point" in inner_finding.summary_en


def test_confinement_away_from_home_follows_the_order_dwelling() -> None:
    # the Wenfeng resident is quarantined at the Dingyang flat: Dingyang is where she must be
    confined = (order(id_number=RETURNEE_ID, dwelling_id=RENTED_FLAT),)
    rule = QuarantineBreach()
    assert rule.evaluate(enrich(sighting("s", id_number=RETURNEE_ID), orders=confined)) is None
    home = enrich(passage("e", id_number=RETURNEE_ID, checkpoint_id=WENFENG_CP.checkpoint_id), orders=confined)
    assert rule.evaluate(home) is not None


def test_order_ending_exactly_at_event_time_allows_going_out() -> None:
    rule = QuarantineBreach()
    out = passage("e", direction="out")
    assert rule.evaluate(enrich(out, orders=(order(ends_at=NIGHT),))) is None
    assert rule.evaluate(enrich(out, orders=(order(ends_at=NIGHT + timedelta(seconds=1)),))) is not None
    assert rule.evaluate(enrich(out)) is None


# late-night entry ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hh", "mm", "day", "fires"),
    [(22, 0, 8, True), (21, 59, 8, False), (23, 59, 8, True), (0, 0, 9, True), (5, 59, 9, True), (6, 0, 9, False),
     (12, 0, 9, False)],
)
def test_non_resident_entering_in_the_window_across_midnight(hh: int, mm: int, day: int, fires: bool) -> None:
    at = datetime(2020, 2, day, hh, mm, tzinfo=CST)
    finding = LateNightEntry().evaluate(enrich(passage("e", id_number=OUTSIDER_ID, event_time=at)))
    assert (finding is not None) is fires
    if finding is not None:
        assert f"{hh:02d}:{mm:02d}" in finding.summary_en and "22:00-06:00" in finding.summary_en
        assert_no_raw_id(finding)


def test_window_is_judged_on_local_time_whatever_the_event_offset() -> None:
    utc = datetime(2020, 2, 8, 14, 30, tzinfo=UTC)  # 22:30 in China
    assert LateNightEntry().evaluate(enrich(passage("e", id_number=OUTSIDER_ID, event_time=utc))) is not None


def test_residents_entering_their_own_compound_or_community_at_night_are_quiet() -> None:
    rule = LateNightEntry()
    assert rule.evaluate(enrich(passage("e"))) is None
    assert rule.evaluate(enrich(scan("e"))) is None


def test_resident_of_another_compound_or_a_registered_visitor_is_a_non_resident() -> None:
    rule = LateNightEntry()
    assert rule.evaluate(enrich(passage("e", id_number=RETURNEE_ID))) is not None
    visitor = rule.evaluate(enrich(passage("e", id_number=OUTSIDER_ID), visitors=(visit(),)))
    assert visitor is not None and "registered visitor" in visitor.summary_en


def test_only_entries_count() -> None:
    rule = LateNightEntry()
    assert rule.evaluate(enrich(passage("e", id_number=OUTSIDER_ID, direction="out"))) is None
    assert rule.evaluate(enrich(sighting("s"))) is None
    assert rule.evaluate(enrich(scan("e", id_number=OUTSIDER_ID))) is not None


def test_configured_window_without_midnight_and_empty_window() -> None:
    noon = datetime(2020, 2, 9, 12, 30, tzinfo=CST)
    event = enrich(passage("e", id_number=OUTSIDER_ID, event_time=noon))
    assert LateNightEntry(start=time(12), end=time(14)).evaluate(event) is not None
    assert LateNightEntry(start=time(13), end=time(14)).evaluate(event) is None
    assert LateNightEntry(start=time(0), end=time(0)).evaluate(enrich(passage("e", id_number=OUTSIDER_ID))) is None


def test_window_bounds_are_start_inclusive_end_exclusive() -> None:
    assert in_window(time(22), time(22), time(6)) and not in_window(time(6), time(22), time(6))
    assert in_window(time(12), time(12), time(14)) and not in_window(time(14), time(12), time(14))


def test_window_with_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="local"):
        LateNightEntry(start=time(22, tzinfo=UTC))


# unregistered person: visitor exemption ---------------------------------------------------------------------

def test_guard_registered_visitor_is_not_unregistered_while_the_visit_is_valid() -> None:
    rule = UnregisteredPerson()
    assert rule.evaluate(enrich(passage("e", id_number=OUTSIDER_ID), visitors=(visit(),))) is None
    elsewhere_resident = visit(id_number=RETURNEE_ID)
    assert rule.evaluate(enrich(passage("e", id_number=RETURNEE_ID), visitors=(elsewhere_resident,))) is None


def test_visit_ending_at_valid_until_no_longer_exempts() -> None:
    until = NIGHT + timedelta(hours=2)
    event = enrich(passage("e", id_number=OUTSIDER_ID, event_time=until), visitors=(visit(),))
    finding = UnregisteredPerson().evaluate(event)
    assert finding is not None and finding.rule_id == "unregistered_person"


def test_visit_to_another_compound_does_not_exempt() -> None:
    wf_visit = visit(compound_id="co-wf-01", host_dwelling_id="wf-01-2-502")
    assert UnregisteredPerson().evaluate(enrich(passage("e", id_number=OUTSIDER_ID), visitors=(wf_visit,))) is not None


def test_outsider_found_in_a_flat_on_a_household_visit_is_unregistered() -> None:
    finding = UnregisteredPerson().evaluate(enrich(sighting("s")))
    assert finding is not None and "not in any register" in finding.summary_en


# register mismatch -----------------------------------------------------------------------------------------

PERSON = KEYS.key(RESIDENT_ID)


def test_registers_agreeing_resolve_the_task() -> None:
    finding = RegisterMismatch().compare(person_record("county"), person_record("provincial"), person_key=PERSON)
    assert finding is not None and finding.resolves and finding.subject == PERSON


def test_address_disagreement_names_the_field_not_the_addresses() -> None:
    county = person_record("county", address="东河北街50号3幢201")
    provincial = person_record("provincial", address="文峰小区2幢502")
    finding = RegisterMismatch().compare(county, provincial, person_key=PERSON)
    assert finding is not None and not finding.resolves
    assert finding.severity is Severity.WARNING and finding.subject == PERSON
    assert "address" in finding.summary_en and "住址" in finding.summary_zh
    text = finding.summary_zh + finding.summary_en + finding.action
    assert "东河" not in text and "文峰" not in text
    assert_no_raw_id(finding)


def test_quarantine_or_health_code_disagreement_is_urgent_and_lists_every_field() -> None:
    county = person_record("county", quarantined=True, health_code=HealthCode.YELLOW)
    finding = RegisterMismatch().compare(county, person_record("provincial"), person_key=PERSON)
    assert finding is not None and finding.severity is Severity.HIGH
    assert "quarantined, health_code" in finding.summary_en
    assert "yellow" not in finding.summary_en.lower()


def test_a_change_is_judged_only_against_the_other_register_as_it_stood_then() -> None:
    county = person_record("county", updated_at=NIGHT)
    assert stood_then(county, person_record("provincial", updated_at=NIGHT - timedelta(hours=1)))
    assert stood_then(county, person_record("provincial", updated_at=NIGHT))
    # the province changed after this county record: that later change is judged instead
    assert not stood_then(county, person_record("provincial", updated_at=NIGHT + timedelta(minutes=5)))
    assert stood_then(None, person_record("provincial")) and stood_then(county, None)


def test_field_unknown_in_one_register_is_no_disagreement() -> None:
    county = person_record("county", health_code=None, address="")
    finding = RegisterMismatch().compare(county, person_record("provincial"), person_key=PERSON)
    assert finding is not None and finding.resolves


def test_only_the_configured_fields_are_compared() -> None:
    county, provincial = person_record("county", address="甲"), person_record("provincial", address="乙")
    rule = RegisterMismatch(fields=("quarantined", "health_code"))
    resolved = rule.compare(county, provincial, person_key=PERSON)
    assert resolved is not None and resolved.resolves
    mismatch = rule.compare(county, provincial, person_key=PERSON, fields=("address",))
    assert mismatch is not None and not mismatch.resolves


def test_one_register_alone_gives_nothing_to_compare_and_neither_resolves() -> None:
    rule = RegisterMismatch()
    assert rule.compare(person_record("county"), None, person_key=PERSON) is None
    assert rule.compare(None, person_record("provincial"), person_key=PERSON) is None
    gone = rule.compare(None, None, person_key=PERSON)
    assert gone is not None and gone.resolves


def test_unknown_register_field_is_refused() -> None:
    with pytest.raises(ValueError, match="register fields"):
        RegisterMismatch(fields=("name",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="register fields"):
        RegisterMismatch(fields=())
