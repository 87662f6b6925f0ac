"""Small, hand-made registers and events for tests, with exactly known alerts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from schemas import Checkpoint, Compound, EnrichedEvent, Passage, PerimeterReport, Place, QrScan, Resident, RiskArea
from streams.idcard import with_check_digit

CST = timezone(timedelta(hours=8))
NIGHT = datetime(2020, 2, 8, 22, 0, tzinfo=CST)

RESIDENT_ID = with_check_digit("33082219800101123")  # Changshan card, lives in Dingyang compound
RETURNEE_ID = with_check_digit("33010519920315004")  # Gongshu card, registered in Wenfeng
OUTSIDER_ID = with_check_digit("42010619950505201")  # Wuhan card, in no register

DINGYANG_CP = Checkpoint(
    checkpoint_id="cp-dy-050",
    name="东河北街50号卡点",
    compound_id="co-dy-01",
    community_code="dingyang",
    large_grid="LG07",
    small_grid="SG13",
    address="东河北街50号",
    lat=28.905,
    lon=118.515,
)
WENFENG_CP = Checkpoint(
    checkpoint_id="cp-wf-001",
    name="文峰小区北门",
    compound_id="co-wf-01",
    community_code="wenfeng",
    large_grid="LG12",
    small_grid="SG24",
    lat=28.912,
    lon=118.522,
)
COMPOUNDS = (
    Compound(compound_id="co-dy-01", name="东河小区", community_code="dingyang", large_grid="LG07", small_grid="SG13"),
    Compound(compound_id="co-wf-01", name="文峰小区", community_code="wenfeng", large_grid="LG12", small_grid="SG24"),
)
RESIDENTS = (
    Resident(
        id_number=RESIDENT_ID, name="张三", phone="13800000001", dwelling_id="dy-01-3-201",
        compound_id="co-dy-01", community_code="dingyang", large_grid="LG07", small_grid="SG13", verified=True,
    ),
    Resident(
        id_number=RETURNEE_ID, name="李梅", phone="13800000002", dwelling_id="wf-01-2-502",
        compound_id="co-wf-01", community_code="wenfeng", large_grid="LG12", small_grid="SG24", verified=True,
    ),
)
RISK_AREAS = (
    RiskArea(division_code="330105", colour="yellow", valid_from=datetime(2020, 2, 1, tzinfo=CST), name="拱墅区"),
    RiskArea(division_code="420106", colour="red", valid_from=datetime(2020, 1, 23, tzinfo=CST), name="武昌区"),
)


def passage(event_id: str, **kw: Any) -> Passage:
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_time": NIGHT,
        "checkpoint_id": DINGYANG_CP.checkpoint_id,
        "direction": "in",
        "id_number": RESIDENT_ID,
        "temperature_c": 36.5,
        "health_code": "green",
    }
    base.update(kw)
    return Passage(**base)


def scan(event_id: str, **kw: Any) -> QrScan:
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_time": NIGHT,
        "checkpoint_id": DINGYANG_CP.checkpoint_id,
        "community_code": "dingyang",
        "id_number": RESIDENT_ID,
    }
    base.update(kw)
    return QrScan(**base)


def wall_climb(event_id: str) -> PerimeterReport:
    return PerimeterReport(
        event_id=event_id,
        event_time=NIGHT,
        compound_id="co-dy-01",
        checkpoint_id=DINGYANG_CP.checkpoint_id,
        source="guard",
        location="东墙",
        person_count=2,
        id_numbers=(OUTSIDER_ID,),
    )


# stateful rules: enriched events built directly ------------------------------

DINGYANG_GATE = Place(
    checkpoint_id=DINGYANG_CP.checkpoint_id, compound_id="co-dy-01", community_code="dingyang",
    large_grid="LG07", small_grid="SG13",
)


def enriched_event(event_id: str, **kw: Any) -> EnrichedEvent:
    """A person's inward passage at the Dingyang gate of a closed compound, enriched; override any field."""
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "passage",
        "event_time": NIGHT,
        "place": DINGYANG_GATE,
        "lat": DINGYANG_CP.lat,
        "lon": DINGYANG_CP.lon,
        "checkpoint_kind": "gate",
        "compound_closed": True,
        "subject_kind": "person",
        "subject_key": "key-resident",
        "subject_masked": RESIDENT_ID[:6] + "********" + RESIDENT_ID[-4:],
        "direction": "in",
    }
    base.update(kw)
    return EnrichedEvent(**base)


# --- issue 4: inner points, sightings, visits, the two upstream registers -------------------------------
# (imported here, not at the top, so this section is added without touching lines others edit)
from schemas import PersonRecord, QuarantineOrder, Sighting, Visitor  # noqa: E402

DINGYANG_INNER = Checkpoint(
    checkpoint_id="cp-dy-inner-3",
    name="东河小区3幢门禁",
    compound_id="co-dy-01",
    community_code="dingyang",
    large_grid="LG07",
    small_grid="SG13",
    lat=28.906,
    lon=118.516,
    kind="inner",
)
RENTED_FLAT = "dy-01-5-301"  # the flat in Dingyang the two wall climbers rented
FLAT_TENANT_ID = with_check_digit("33082219900707321")  # the one registered tenant of that flat
FLAT_TENANT = Resident(
    id_number=FLAT_TENANT_ID, name="王五", dwelling_id=RENTED_FLAT, compound_id="co-dy-01",
    community_code="dingyang", large_grid="LG07", small_grid="SG13", verified=True, residency="renter",
)
MALFORMED_ID = "3308221980"  # a number typed short at the gate


def sighting(event_id: str, **kw: Any) -> Sighting:
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_time": NIGHT,
        "kind": "household_visit",
        "compound_id": "co-dy-01",
        "dwelling_id": RENTED_FLAT,
        "id_number": OUTSIDER_ID,
    }
    base.update(kw)
    return Sighting(**base)


def visit(**kw: Any) -> Visitor:
    """The outsider visiting the Dingyang resident's flat for the evening, registered by the guard."""
    base: dict[str, Any] = {
        "visit_id": "v-1",
        "id_number": OUTSIDER_ID,
        "compound_id": "co-dy-01",
        "host_dwelling_id": "dy-01-3-201",
        "valid_from": NIGHT - timedelta(hours=2),
        "valid_until": NIGHT + timedelta(hours=2),
    }
    base.update(kw)
    return Visitor(**base)


def order(**kw: Any) -> QuarantineOrder:
    """Home quarantine of the Dingyang resident, in force at NIGHT."""
    base: dict[str, Any] = {
        "order_id": "q-1",
        "id_number": RESIDENT_ID,
        "starts_at": NIGHT - timedelta(days=3),
        "ends_at": NIGHT + timedelta(days=11),
    }
    base.update(kw)
    return QuarantineOrder(**base)


def person_record(register: str, **kw: Any) -> PersonRecord:
    base: dict[str, Any] = {
        "register_name": register,
        "id_number": RESIDENT_ID,
        "address": "东河北街50号3幢201",
        "quarantined": False,
        "health_code": "green",
        "updated_at": NIGHT,
    }
    base.update(kw)
    return PersonRecord(**base)
