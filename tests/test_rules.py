"""Each rule, positive and negative, over events enriched from a tiny register."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from schemas import EnrichedEvent, QuarantineOrder, RiskArea, Severity
from streams.catalogue import load_catalogue, packaged_catalogue, parse_catalogue
from streams.engine import Engine
from streams.enrich import Enricher
from streams.idcard import with_check_digit
from streams.master import MemoryMaster
from streams.privacy import PersonKeys
from streams.rules import (
    Fever,
    HealthCodeRule,
    OriginMismatch,
    PerimeterBreach,
    UnregisteredPerson,
)
from streams.rules.state import MemoryState
from tests.factories import (
    COMPOUNDS,
    CST,
    DINGYANG_CP,
    NIGHT,
    OUTSIDER_ID,
    RESIDENT_ID,
    RESIDENTS,
    RETURNEE_ID,
    RISK_AREAS,
    WENFENG_CP,
    passage,
    scan,
    wall_climb,
)

KEYS = PersonKeys(secret=b"test")


def enricher(**extra: object) -> Enricher:
    registers: dict[str, object] = {
        "residents": RESIDENTS, "checkpoints": (DINGYANG_CP, WENFENG_CP), "compounds": COMPOUNDS,
        "risk_areas": RISK_AREAS,
    }
    master = MemoryMaster(KEYS, **(registers | extra))  # type: ignore[arg-type]
    return Enricher(master=master, keys=KEYS)


def enrich(event: object, **extra: object) -> EnrichedEvent:
    return enricher(**extra).enrich(event)  # type: ignore[arg-type]


# fever ---------------------------------------------------------------------

def test_fever_fires_at_the_threshold() -> None:
    finding = Fever(threshold_c=37.3, state=MemoryState()).evaluate(enrich(passage("e", temperature_c=37.3)))
    assert finding is not None and finding.severity is Severity.HIGH
    assert "37.3" in finding.summary_en


def test_fever_stays_quiet_below_threshold_or_without_reading() -> None:
    rule = Fever(threshold_c=37.3, state=MemoryState())
    assert rule.evaluate(enrich(passage("e", temperature_c=37.2))) is None
    assert rule.evaluate(enrich(passage("e", temperature_c=None))) is None


def test_fever_threshold_comes_from_the_catalogue() -> None:
    text = Path(packaged_catalogue()).read_text(encoding="utf-8").replace("threshold_c: 37.3", "threshold_c: 38.0")
    assert "threshold_c: 38.0" in text
    engine = Engine(parse_catalogue(text), states=lambda rule_id: MemoryState())
    assert [f.rule_id for f in engine.evaluate(enrich(passage("e", temperature_c=37.6)))] == []
    assert [f.rule_id for f in engine.evaluate(enrich(passage("f", temperature_c=38.1)))] == ["fever"]


# health code ---------------------------------------------------------------

@pytest.mark.parametrize(("colour", "severity"), [("red", Severity.CRITICAL), ("yellow", Severity.WARNING)])
def test_health_code_yellow_and_red_alert(colour: str, severity: Severity) -> None:
    finding = HealthCodeRule().evaluate(enrich(passage("e", health_code=colour)))
    assert finding is not None and finding.severity is severity


def test_health_code_green_or_missing_is_quiet() -> None:
    assert HealthCodeRule().evaluate(enrich(passage("e", health_code="green"))) is None
    assert HealthCodeRule().evaluate(enrich(passage("e", health_code=None))) is None


# perimeter breach --------------------------------------------------------

def test_wall_climb_report_is_a_critical_breach_linking_identified_persons() -> None:
    event = enrich(wall_climb("e"))
    finding = PerimeterBreach().evaluate(event)
    assert finding is not None and finding.severity is Severity.CRITICAL
    assert "1 identified" in finding.summary_en
    assert event.linked_subjects == (OUTSIDER_ID[:6] + "********" + OUTSIDER_ID[-4:],)
    assert (event.place.large_grid, event.place.compound_id) == ("LG07", "co-dy-01")


def test_ordinary_passage_is_no_breach() -> None:
    assert PerimeterBreach().evaluate(enrich(passage("e"))) is None


# unregistered person -----------------------------------------------------

def test_person_in_no_register_entering_is_unregistered() -> None:
    finding = UnregisteredPerson().evaluate(enrich(passage("e", id_number=OUTSIDER_ID)))
    assert finding is not None and "not in any register" in finding.summary_en


def test_resident_of_another_compound_entering_is_unregistered_here() -> None:
    event = enrich(passage("e", id_number=RETURNEE_ID))  # Wenfeng resident at Dingyang checkpoint
    finding = UnregisteredPerson().evaluate(event)
    assert finding is not None and "registered elsewhere" in finding.summary_en


def test_scan_checks_the_community_register() -> None:
    assert UnregisteredPerson().evaluate(enrich(scan("e"))) is None
    foreign = UnregisteredPerson().evaluate(enrich(scan("e", id_number=RETURNEE_ID)))
    assert foreign is not None


def test_resident_entering_own_compound_or_anyone_leaving_is_quiet() -> None:
    rule = UnregisteredPerson()
    assert rule.evaluate(enrich(passage("e"))) is None
    assert rule.evaluate(enrich(passage("e", id_number=OUTSIDER_ID, direction="out"))) is None


def test_vehicle_is_not_a_person() -> None:
    from schemas import Passage

    van = Passage(event_id="v", event_time=NIGHT, checkpoint_id=DINGYANG_CP.checkpoint_id, direction="in",
                  subject_kind="vehicle", plate="浙H12345")
    assert UnregisteredPerson().evaluate(enrich(van)) is None


# origin mismatch ---------------------------------------------------------

def test_article_returnee_declaring_xiacheng_with_gongshu_card_needs_quarantine() -> None:
    event = enrich(passage("e", checkpoint_id=WENFENG_CP.checkpoint_id, id_number=RETURNEE_ID,
                           declared_origin="330103"))
    finding = OriginMismatch().evaluate(event)
    assert finding is not None
    assert finding.severity is Severity.HIGH
    assert finding.action == "quarantine required"
    assert "330103" in finding.summary_en and "330105" in finding.summary_en
    assert "inferred" in finding.summary_en
    # she is a registered Wenfeng resident entering her own compound: only this rule fires
    engine = Engine(load_catalogue(), states=lambda rule_id: MemoryState())
    assert [f.rule_id for f in engine.evaluate(event)] == ["origin_mismatch"]


def test_origin_mismatch_without_risk_area_is_a_warning_to_verify() -> None:
    event = enrich(passage("e", declared_origin="330106"))  # card 330822, neither risky
    finding = OriginMismatch().evaluate(event)
    assert finding is not None and finding.severity is Severity.WARNING
    assert finding.action == "verify travel history"


def test_origin_mismatch_with_red_declared_area_is_critical() -> None:
    event = enrich(passage("e", declared_origin="420106"))
    finding = OriginMismatch().evaluate(event)
    assert finding is not None and finding.severity is Severity.CRITICAL


def test_risk_colour_counts_only_from_its_valid_from() -> None:
    before = datetime(2020, 1, 20, 10, 0, tzinfo=CST)
    event = enrich(passage("e", event_time=before, checkpoint_id=WENFENG_CP.checkpoint_id,
                           id_number=RETURNEE_ID, declared_origin="330103"))
    assert event.card_division_risk is None
    finding = OriginMismatch().evaluate(event)
    assert finding is not None and finding.severity is Severity.WARNING


def test_older_changshan_card_declaring_changshan_is_not_a_mismatch() -> None:
    """Born before 1985, the card says 332529 (Changshan under Jinhua prefecture); the county is 330822."""
    for old in ("332529", "332427"):
        local = with_check_digit(f"{old}19600505123")
        assert OriginMismatch().evaluate(enrich(passage("e", id_number=local, declared_origin="330822"))) is None


def test_xiacheng_and_gongshu_are_one_county_after_the_2021_merger() -> None:
    after = datetime(2022, 2, 18, 22, 0, tzinfo=CST)
    event = enrich(passage("e", event_time=after, checkpoint_id=WENFENG_CP.checkpoint_id, id_number=RETURNEE_ID,
                           declared_origin="330103"))
    assert OriginMismatch().evaluate(event) is None


def test_matching_or_missing_origin_is_quiet() -> None:
    assert OriginMismatch().evaluate(enrich(passage("e", declared_origin="330822"))) is None
    assert OriginMismatch().evaluate(enrich(passage("e"))) is None
    assert OriginMismatch().evaluate(enrich(passage("e", declared_origin="330103", direction="out"))) is None


def test_later_risk_entry_supersedes_earlier() -> None:
    lifted = RiskArea(division_code="330105", colour="green", valid_from=datetime(2020, 2, 5, tzinfo=CST))
    event = enrich(passage("e", id_number=RETURNEE_ID, declared_origin="330103"),
                   risk_areas=(*RISK_AREAS, lifted))
    assert event.card_division_risk == "green"


# enrichment ----------------------------------------------------------------

def test_enrichment_resolves_place_home_and_masks_the_subject() -> None:
    event = enrich(passage("e"))
    assert event.resident_known and event.resident_verified
    assert (event.place.large_grid, event.place.small_grid, event.place.checkpoint_id) == ("LG07", "SG13", "cp-dy-050")
    assert event.home_dwelling_id == "dy-01-3-201"
    assert event.subject_masked == RESIDENT_ID[:6] + "********" + RESIDENT_ID[-4:]
    assert RESIDENT_ID not in event.model_dump_json()
    assert "张三" not in event.model_dump_json()
    assert event.misses == ()


def test_enrichment_records_misses_but_keeps_the_event() -> None:
    event = enrich(passage("e", checkpoint_id="cp-unknown", id_number=OUTSIDER_ID))
    assert set(event.misses) == {"checkpoint", "resident"}
    assert event.place.checkpoint_id == "cp-unknown" and event.place.large_grid == ""


def test_active_quarantine_order_is_visible_to_rules() -> None:
    order = QuarantineOrder(order_id="q1", id_number=RESIDENT_ID, starts_at=NIGHT - timedelta(days=3),
                            ends_at=NIGHT + timedelta(days=11))
    assert enrich(passage("e"), orders=(order,)).quarantine_active
    expired = order.model_copy(update={"ends_at": NIGHT - timedelta(hours=1)})
    assert not enrich(passage("e"), orders=(expired,)).quarantine_active
