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


# --- rules end to end on the real broker (tests/test_rules_e2e.py) ----------------------------------------
# One corner of the street per rule: own persons, dwellings and checkpoints, so the scenarios of one worker
# run cannot fold into each other's alerts. Times are the Lantern Festival evening, 8 February 2020.
from datetime import time  # noqa: E402


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A local time (+08:00) on the Lantern Festival, 8 February 2020."""
    return datetime(2020, 2, 8, hour, minute, second, tzinfo=CST)


def person_id(division: str, born: str, seq: int) -> str:
    """A valid ID number: division, birth date (YYYYMMDD) and a sequence number, with its check digit."""
    return with_check_digit(f"{division}{born}{seq:03d}")


FAR_COMPOUND = Compound(compound_id="co-far-01", name="芳村新村", community_code="fangcun", large_grid="LG03",
                        small_grid="SG05", closed=False)
E2E_COMPOUNDS = (*COMPOUNDS, FAR_COMPOUND)

DINGYANG_SOUTH = Checkpoint(  # a side gate staffed by day only
    checkpoint_id="cp-dy-south", name="东河小区南门", compound_id="co-dy-01", community_code="dingyang",
    large_grid="LG07", small_grid="SG13", lat=28.903, lon=118.515, opens=time(6), closes=time(22),
)
WENFENG_EAST = Checkpoint(
    checkpoint_id="cp-wf-002", name="文峰小区东门", compound_id="co-wf-01", community_code="wenfeng",
    large_grid="LG12", small_grid="SG24", lat=28.9125, lon=118.5235,
)
FAR_CP = Checkpoint(  # 15 km north of Dingyang: nobody gets there in ten minutes
    checkpoint_id="cp-far-01", name="芳村新村卡点", compound_id="co-far-01", community_code="fangcun",
    large_grid="LG03", small_grid="SG05", lat=29.04, lon=118.515,
)
E2E_CHECKPOINTS = (DINGYANG_CP, DINGYANG_INNER, DINGYANG_SOUTH, WENFENG_CP, WENFENG_EAST, FAR_CP)


def resident_of(compound: Compound, id_number: str, dwelling_id: str, name: str = "住户") -> Resident:
    return Resident(
        id_number=id_number, name=name, dwelling_id=dwelling_id, compound_id=compound.compound_id,
        community_code=compound.community_code, large_grid=compound.large_grid, small_grid=compound.small_grid,
        verified=True,
    )


DY, WF = COMPOUNDS
HEALTH_ID = person_id("330822", "19750301", 11)  # Dingyang; yellow, yellow, then red code
RISK_ID = person_id("330105", "19880808", 21)  # Dingyang, Gongshu card; back from Gongshu (yellow)
BYPASS_ID = person_id("330822", "19900101", 31)  # Dingyang; went out, then scanned at the inner point
TRAVEL_ID = person_id("330822", "19821111", 41)  # Dingyang; at the far checkpoint ten minutes later
MISMATCH_ID = person_id("330822", "19700505", 51)  # Dingyang; the two upstream registers disagree
HEARTBEAT_DY_IDS = (person_id("330822", "19600202", 61), person_id("330822", "19610303", 71))
FEVER_ID = person_id("330822", "19790909", 81)  # Wenfeng; 38.1, re-measured 36.6
QUARANTINE_ID = person_id("330822", "19830404", 91)  # Wenfeng; under home quarantine, goes out
ELSEWHERE_ID = person_id("330822", "19920612", 101)  # Wenfeng resident entering Dingyang
SILENT_GATE_ID = person_id("330822", "19650707", 111)  # Wenfeng; the only one using the east gate
HEARTBEAT_WF_ID = person_id("330822", "19660808", 121)
CROWDED_FLAT = "wf-01-9-901"  # one registered resident, four neighbours found there on a household visit
CROWD_HOST_ID = person_id("330822", "19550101", 131)
CROWD_GUEST_IDS = tuple(person_id("330822", f"1980{m:02d}15", 141 + 10 * m) for m in range(1, 5))
HEARTBEAT_FAR_ID = person_id("330822", "19581212", 181)
VISITOR_ID = person_id("330106", "19870303", 191)  # Xihu; a registered day visit to Dingyang
NIGHT_VISITOR_ID = person_id("330106", "19910606", 201)  # Xihu; a registered visit, arriving after 22:00
CLIMBER_IDS = (OUTSIDER_ID, person_id("420106", "19960707", 211))  # the two who came over the wall
DEN_IDS = (person_id("420111", "19890909", 221), person_id("420102", "19940214", 231),
           person_id("420102", "19970520", 241))  # one man and two women more in the rented flat

E2E_RESIDENTS = (
    *RESIDENTS,
    FLAT_TENANT,
    resident_of(DY, HEALTH_ID, "dy-01-1-101"),
    resident_of(DY, RISK_ID, "dy-01-2-102"),
    resident_of(DY, BYPASS_ID, "dy-01-4-401"),
    resident_of(DY, TRAVEL_ID, "dy-01-6-601"),
    resident_of(DY, MISMATCH_ID, "dy-01-7-701"),
    *(resident_of(DY, p, f"dy-01-8-80{i}") for i, p in enumerate(HEARTBEAT_DY_IDS, 1)),
    resident_of(WF, FEVER_ID, "wf-01-1-101"),
    resident_of(WF, QUARANTINE_ID, "wf-01-3-301"),
    resident_of(WF, ELSEWHERE_ID, "wf-01-4-401"),
    resident_of(WF, SILENT_GATE_ID, "wf-01-5-501"),
    resident_of(WF, HEARTBEAT_WF_ID, "wf-01-5-502"),
    resident_of(WF, CROWD_HOST_ID, CROWDED_FLAT),
    *(resident_of(WF, p, f"wf-01-6-60{i}") for i, p in enumerate(CROWD_GUEST_IDS, 1)),
    resident_of(FAR_COMPOUND, HEARTBEAT_FAR_ID, "far-01-1-101"),
)
E2E_ORDERS = (order(order_id="q-e2e-1", id_number=QUARANTINE_ID, starts_at=at(0, 0) - timedelta(days=3),
                    ends_at=at(0, 0) + timedelta(days=11)),)
E2E_VISITORS = (
    visit(visit_id="v-e2e-day", id_number=VISITOR_ID, host_dwelling_id="dy-01-9-901", valid_from=at(20, 0),
          valid_until=at(23, 59)),
    visit(visit_id="v-e2e-night", id_number=NIGHT_VISITOR_ID, host_dwelling_id="dy-01-9-902",
          valid_from=at(21, 0), valid_until=at(23, 59)),
)
E2E_PERSON_RECORDS = (  # at start: RESIDENT_ID in both registers, agreeing; MISMATCH_ID in the county's only
    person_record("county", updated_at=at(20, 0)),
    person_record("provincial", updated_at=at(20, 0)),
    person_record("county", id_number=MISMATCH_ID, address="东河北街50号7幢701", updated_at=at(20, 0)),
)
