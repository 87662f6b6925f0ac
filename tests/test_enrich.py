"""Enrichment of the issue-4 fields, and the master data behind them (memory and the worker's store)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from pydantic import ValidationError

from schemas import EnrichedEvent, Passage, PersonRecord, QrScan, Resident
from streams.enrich import Enricher
from streams.idcard import with_check_digit
from streams.master import MemoryMaster, Residents, register_key
from streams.privacy import PersonKeys, mask_id
from streams.registers import RegisterRecord, RegisterReplicator, RegisterStore, StoreMaster
from streams.settings import Settings
from tests.factories import (
    COMPOUNDS,
    DINGYANG_CP,
    DINGYANG_INNER,
    FLAT_TENANT,
    MALFORMED_ID,
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
    wall_climb,
)

KEYS = PersonKeys(secret=b"test")


def master(**extra: Any) -> MemoryMaster:
    registers: dict[str, Any] = {
        "residents": (*RESIDENTS, FLAT_TENANT),
        "checkpoints": (DINGYANG_CP, WENFENG_CP, DINGYANG_INNER),
        "compounds": COMPOUNDS,
        "risk_areas": RISK_AREAS,
    }
    return MemoryMaster(KEYS, **(registers | extra))


def enrich(event: Any, **extra: Any) -> EnrichedEvent:
    return Enricher(master=master(**extra), keys=KEYS).enrich(event)


# where it happened ---------------------------------------------------------------------------------------

def test_checkpoint_location_kind_and_closed_compound_are_filled() -> None:
    gate = enrich(passage("e"))
    assert (gate.lat, gate.lon, gate.checkpoint_kind, gate.compound_closed) == (28.905, 118.515, "gate", True)
    inner = enrich(sighting("s", kind="inner_scan", checkpoint_id=DINGYANG_INNER.checkpoint_id, dwelling_id=None))
    assert (inner.lat, inner.checkpoint_kind, inner.sighting_kind) == (28.906, "inner", "inner_scan")


def test_reopened_compound_takes_effect_with_the_next_event_despite_the_site_cache() -> None:
    m = master()
    enricher = Enricher(master=m, keys=KEYS)
    assert enricher.enrich(passage("e1")).compound_closed
    m.compounds["co-dy-01"] = m.compounds["co-dy-01"].model_copy(update={"closed": False})
    assert not enricher.enrich(passage("e2")).compound_closed


def test_unknown_checkpoint_leaves_location_empty() -> None:
    event = enrich(passage("e", checkpoint_id="cp-unknown"))
    assert (event.lat, event.lon, event.checkpoint_kind, event.compound_closed) == (None, None, None, False)


def test_sighting_without_an_inner_point_is_placed_by_its_compound() -> None:
    event = enrich(sighting("s"))
    assert event.event_type == "sighting"
    assert (event.place.compound_id, event.place.large_grid, event.place.small_grid) == ("co-dy-01", "LG07", "SG13")
    assert event.lat is None and event.compound_closed
    assert "place" not in event.misses


def test_wall_climb_carries_the_compound_and_nearest_checkpoint() -> None:
    event = enrich(wall_climb("w"))
    assert event.compound_closed and event.checkpoint_kind == "gate" and event.lat == DINGYANG_CP.lat


def test_vehicle_passage_gets_the_checkpoint_fields_but_no_person_fields() -> None:
    van = Passage(event_id="v", event_time=NIGHT, checkpoint_id=DINGYANG_CP.checkpoint_id, direction="in",
                  subject_kind="vehicle", plate="浙H12345")
    event = enrich(van)
    assert event.checkpoint_kind == "gate" and event.dwelling_registered is None and event.id_problems == ()


# dwellings -----------------------------------------------------------------------------------------------

def test_household_visit_counts_the_persons_registered_at_the_visited_dwelling() -> None:
    event = enrich(sighting("s"))
    assert (event.dwelling_id, event.dwelling_registered, event.sighting_kind) == (RENTED_FLAT, 1, "household_visit")
    assert not event.resident_known


def test_without_a_visited_dwelling_the_home_dwelling_is_counted() -> None:
    flatmate = FLAT_TENANT.model_copy(update={"id_number": RETURNEE_ID})
    event = enrich(passage("e", id_number=FLAT_TENANT.id_number), residents=(FLAT_TENANT, flatmate))
    assert (event.dwelling_id, event.home_dwelling_id, event.dwelling_registered) == ("", RENTED_FLAT, 2)
    assert enrich(passage("e", id_number=OUTSIDER_ID)).dwelling_registered is None


def test_visit_to_a_dwelling_nobody_is_registered_at_counts_zero() -> None:
    assert enrich(sighting("s", dwelling_id="dy-01-9-909")).dwelling_registered == 0


def test_resident_moving_dwelling_keeps_both_counts_right() -> None:
    residents = Residents()
    a, b = RESIDENTS[0], FLAT_TENANT
    residents[KEYS.key(a.id_number)] = a
    residents[KEYS.key(b.id_number)] = b
    assert residents.dwelling_size(RENTED_FLAT) == 1
    residents[KEYS.key(a.id_number)] = a.model_copy(update={"dwelling_id": RENTED_FLAT})  # moves in
    assert (residents.dwelling_size(RENTED_FLAT), residents.dwelling_size(a.dwelling_id)) == (2, 0)
    assert residents.dwelling_compound(a.dwelling_id) is None
    residents[KEYS.key(b.id_number)] = b.model_copy(update={"verified": False})  # same dwelling, re-sent
    assert residents.dwelling_size(RENTED_FLAT) == 2
    residents.pop(KEYS.key(b.id_number))
    assert residents.dwelling_size(RENTED_FLAT) == 1 and len(residents) == 1
    assert residents.dwelling_compound(RENTED_FLAT) == "co-dy-01"


# visitors ------------------------------------------------------------------------------------------------

def test_guard_registered_visit_is_active_for_its_compound_and_names_the_host() -> None:
    event = enrich(passage("e", id_number=OUTSIDER_ID), visitors=(visit(),))
    assert event.visitor_active and event.visitor_host_dwelling_id == "dy-01-3-201"


def test_visit_ends_at_valid_until() -> None:
    until = NIGHT + timedelta(hours=2)
    at_end = enrich(passage("e", id_number=OUTSIDER_ID, event_time=until), visitors=(visit(),))
    just_before = enrich(passage("e", id_number=OUTSIDER_ID, event_time=until - timedelta(seconds=1)),
                         visitors=(visit(),))
    assert (just_before.visitor_active, at_end.visitor_active) == (True, False)
    assert at_end.visitor_host_dwelling_id == ""


def test_visit_counts_only_from_valid_from_and_only_for_its_compound() -> None:
    early = enrich(passage("e", id_number=OUTSIDER_ID, event_time=NIGHT - timedelta(hours=3)), visitors=(visit(),))
    elsewhere = enrich(passage("e", id_number=OUTSIDER_ID, checkpoint_id=WENFENG_CP.checkpoint_id),
                       visitors=(visit(),))
    assert not early.visitor_active and not elsewhere.visitor_active


def test_visits_to_two_compounds_do_not_replace_each_other() -> None:
    visits = (visit(), visit(visit_id="v-2", compound_id="co-wf-01", host_dwelling_id="wf-01-2-502"))
    dy = enrich(passage("e", id_number=OUTSIDER_ID), visitors=visits)
    wf = enrich(passage("e", id_number=OUTSIDER_ID, checkpoint_id=WENFENG_CP.checkpoint_id), visitors=visits)
    assert (dy.visitor_host_dwelling_id, wf.visitor_host_dwelling_id) == ("dy-01-3-201", "wf-01-2-502")


# quarantine ----------------------------------------------------------------------------------------------

def test_order_without_dwelling_confines_to_the_home_dwelling_and_compound() -> None:
    event = enrich(passage("e"), orders=(order(),))
    assert event.quarantine_active
    assert (event.quarantine_dwelling_id, event.quarantine_compound_id) == ("dy-01-3-201", "co-dy-01")


def test_order_at_another_dwelling_confines_to_the_compound_of_its_residents() -> None:
    event = enrich(passage("e", checkpoint_id=WENFENG_CP.checkpoint_id), orders=(order(dwelling_id=RENTED_FLAT),))
    assert (event.quarantine_dwelling_id, event.quarantine_compound_id) == (RENTED_FLAT, "co-dy-01")
    # the Wenfeng resident quarantined at a Dingyang flat: the flat decides, not the home register
    wf = enrich(passage("e", id_number=RETURNEE_ID),
                orders=(order(id_number=RETURNEE_ID, dwelling_id=RENTED_FLAT),))
    assert wf.quarantine_compound_id == "co-dy-01"


def test_order_at_an_unregistered_dwelling_falls_back_to_the_home_compound() -> None:
    event = enrich(passage("e"), orders=(order(dwelling_id="hotel-7-312"),))
    assert (event.quarantine_dwelling_id, event.quarantine_compound_id) == ("hotel-7-312", "co-dy-01")


def test_order_ending_exactly_at_event_time_is_over() -> None:
    event = enrich(passage("e"), orders=(order(ends_at=NIGHT),))
    assert not event.quarantine_active
    assert (event.quarantine_dwelling_id, event.quarantine_compound_id) == ("", "")


# ID numbers ----------------------------------------------------------------------------------------------

def test_valid_number_has_no_problems_and_its_card_division() -> None:
    event = enrich(passage("e"))
    assert event.id_problems == () and event.card_division == "330822"


def test_malformed_number_is_enriched_without_leaking_it() -> None:
    event = enrich(passage("e", id_number=MALFORMED_ID))
    assert event.id_problems == ("structure",)
    assert event.card_division is None and event.card_division_risk is None
    assert event.subject_masked == "*" * len(MALFORMED_ID)
    assert event.subject_key == KEYS.key(MALFORMED_ID)
    assert MALFORMED_ID not in event.model_dump_json()
    assert "resident" in event.misses


def test_wrong_check_digit_keeps_the_card_division_for_the_risk_lookup() -> None:
    digit = "1" if RETURNEE_ID[-1] != "1" else "2"
    event = enrich(passage("e", id_number=RETURNEE_ID[:-1] + digit))
    assert event.id_problems == ("check_digit",)
    assert (event.card_division, event.card_division_risk) == ("330105", "yellow")


def test_birth_date_is_judged_on_the_local_date_in_china() -> None:
    born_9th = with_check_digit("33082220200209001")
    # 8 Feb 17:00 UTC is already 9 Feb 01:00 in China: the person is born, not in the future
    at = datetime(2020, 2, 8, 17, 0, tzinfo=UTC)
    assert enrich(scan("e", id_number=born_9th, event_time=at)).id_problems == ()
    assert enrich(scan("e", id_number=born_9th, event_time=at - timedelta(hours=2))).id_problems == ("birth_date",)


@pytest.mark.parametrize("raw", ["1", "ab12", "33082219800101123x ", "A" * 32])
def test_raw_id_numbers_are_accepted_stripped_and_upper_cased(raw: str) -> None:
    assert QrScan(event_id="e", event_time=NIGHT, checkpoint_id="cp", community_code="c",
                  id_number=raw).id_number == raw.strip().upper()


@pytest.mark.parametrize("raw", ["", "   ", "A" * 33, "3308-2219", "张三"])
def test_raw_id_numbers_reject_empty_long_or_foreign_characters(raw: str) -> None:
    with pytest.raises(ValidationError):
        QrScan(event_id="e", event_time=NIGHT, checkpoint_id="cp", community_code="c", id_number=raw)


@pytest.mark.parametrize("raw", ["", "7", "ab12", "3308221980", "A" * 32])
def test_mask_id_reveals_nothing_of_odd_numbers(raw: str) -> None:
    masked = mask_id(raw)
    assert set(masked) <= {"*"} and len(masked) == len(raw)


def test_perimeter_report_accepts_a_malformed_number_and_masks_it() -> None:
    report = wall_climb("w").model_copy(update={"id_numbers": (MALFORMED_ID, OUTSIDER_ID)})
    event = enrich(report)
    assert event.linked_subjects[0] == "*" * len(MALFORMED_ID)
    assert MALFORMED_ID not in event.model_dump_json()


# the worker's store --------------------------------------------------------------------------------------

class _Feed:
    """Drives the replicator's apply step as the consumer loop would, without a broker."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(data_dir=tmp_path)
        self.store = RegisterStore(tmp_path / "registers")
        self.rejected: list[Any] = []

        async def reject(why: Any, msg: Any) -> None:
            self.rejected.append(why)

        self.replicator = RegisterReplicator(settings=self.settings, store=self.store, keys=KEYS, reject=reject)
        self.offset = 0

    def send(self, logical: str, *records: tuple[str, Any]) -> None:
        msgs = []
        for key, record in records:
            value = record.model_dump_json().encode() if record is not None else None
            msgs.append(RegisterRecord(key.encode(), value, self.offset))
            self.offset += 1
        tp = TopicPartition(self.settings.kafka.topic(logical), 0)
        asyncio.run(self.replicator.apply({tp: msgs}))


def _key(r: Resident) -> str:
    """The record's key on the residents topic: its natural key (the store keys it by the person key)."""
    return register_key(r)


def test_store_keeps_dwelling_counts_right_across_moves_and_tombstones(tmp_path: Path) -> None:
    feed = _Feed(tmp_path)
    m = StoreMaster(feed.store)
    a, b = RESIDENTS[0], FLAT_TENANT
    feed.send("residents", (_key(a), a), (_key(b), b))
    assert (m.dwelling_size(a.dwelling_id), m.dwelling_size(RENTED_FLAT)) == (1, 1)
    assert m.dwelling_compound(RENTED_FLAT) == "co-dy-01"
    moved = a.model_copy(update={"dwelling_id": RENTED_FLAT})
    feed.send("residents", (_key(a), moved))
    assert (m.dwelling_size(a.dwelling_id), m.dwelling_size(RENTED_FLAT)) == (0, 2)
    assert m.dwelling_compound(a.dwelling_id) is None
    feed.send("residents", (_key(b), None), (_key(b), None))  # a repeated tombstone counts once
    assert m.dwelling_size(RENTED_FLAT) == 1
    # moved back and re-sent within one batch: the pending record is the one replaced
    feed.send("residents", (_key(a), a), (_key(a), a))
    assert (m.dwelling_size(a.dwelling_id), m.dwelling_size(RENTED_FLAT)) == (1, 0)
    feed.store.close()


def test_store_lookups_of_small_registers_see_a_republished_record_at_once(tmp_path: Path) -> None:
    feed = _Feed(tmp_path)
    m = StoreMaster(feed.store)
    feed.send("checkpoints", (DINGYANG_CP.checkpoint_id, DINGYANG_CP))
    assert m.checkpoint(DINGYANG_CP.checkpoint_id) == DINGYANG_CP
    assert m.checkpoint(DINGYANG_CP.checkpoint_id) is m.checkpoint(DINGYANG_CP.checkpoint_id)  # from memory
    moved = DINGYANG_CP.model_copy(update={"lat": 28.9})
    feed.send("checkpoints", (DINGYANG_CP.checkpoint_id, moved))
    assert m.checkpoint(DINGYANG_CP.checkpoint_id) == moved
    assert m.checkpoint("cp-unknown") is None
    feed.send("checkpoints", ("cp-unknown", DINGYANG_CP.model_copy(update={"checkpoint_id": "cp-unknown"})))
    assert m.checkpoint("cp-unknown") is not None  # a miss is not remembered past the next write
    feed.store.close()


def test_store_memory_of_a_small_register_stays_bounded_under_unknown_ids(tmp_path: Path) -> None:
    from streams import registers

    feed = _Feed(tmp_path)
    m = StoreMaster(feed.store)
    feed.send("checkpoints", (DINGYANG_CP.checkpoint_id, DINGYANG_CP))
    for i in range(registers._MAX_SMALL + 10):  # a flood of checkpoint ids nobody registered
        assert m.checkpoint(f"cp-bogus-{i}") is None
    assert len(m._small[b"c|"][1]) <= registers._MAX_SMALL
    assert m.checkpoint(DINGYANG_CP.checkpoint_id) == DINGYANG_CP
    feed.store.close()


def test_store_serves_visits_and_both_registers_records(tmp_path: Path) -> None:
    feed = _Feed(tmp_path)
    m = StoreMaster(feed.store)
    person = KEYS.key(OUTSIDER_ID)
    feed.send("visitors", (f"{OUTSIDER_ID}|co-dy-01", visit()))  # natural keys on the topics
    county = person_record("county", address="A")
    provincial = person_record("provincial", address="B")
    feed.send("person-records", (f"county|{RESIDENT_ID}", county), (f"provincial|{RESIDENT_ID}", provincial))
    assert m.visitor(person, "co-dy-01") == visit()
    assert m.visitor(person, "co-wf-01") is None
    assert m.person_record("county", KEYS.key(RESIDENT_ID)) == county
    assert m.person_record("provincial", KEYS.key(RESIDENT_ID)) == provincial
    feed.send("visitors", (f"{OUTSIDER_ID}|co-dy-01", None))
    assert m.visitor(person, "co-dy-01") is None
    assert feed.rejected == []
    feed.store.close()


def test_enrichment_over_the_store_matches_enrichment_in_memory(tmp_path: Path) -> None:
    feed = _Feed(tmp_path)
    feed.send("residents", *((_key(r), r) for r in (*RESIDENTS, FLAT_TENANT)))
    feed.send("checkpoints", *((c.checkpoint_id, c) for c in (DINGYANG_CP, WENFENG_CP, DINGYANG_INNER)))
    feed.send("compounds", *((c.compound_id, c) for c in COMPOUNDS))
    feed.send("risk-areas", *((a.division_code, a) for a in RISK_AREAS))
    feed.send("visitors", (f"{OUTSIDER_ID}|co-dy-01", visit()))
    feed.send("quarantine-orders", (_key(RESIDENTS[0]), order(dwelling_id=RENTED_FLAT)))
    stored = Enricher(master=StoreMaster(feed.store), keys=KEYS)
    memory = Enricher(master=master(visitors=(visit(),), orders=(order(dwelling_id=RENTED_FLAT),)), keys=KEYS)
    for event in (passage("p"), passage("o", id_number=OUTSIDER_ID), sighting("s"), wall_climb("w")):
        assert stored.enrich(event) == memory.enrich(event)
    feed.store.close()


def test_visitor_and_person_record_reject_inconsistent_values() -> None:
    with pytest.raises(ValidationError, match="valid_until"):
        visit(valid_until=NIGHT - timedelta(hours=2))
    with pytest.raises(ValidationError):
        PersonRecord(register_name="city", id_number=RESIDENT_ID, updated_at=NIGHT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="opens and closes"):
        DINGYANG_CP.model_validate(DINGYANG_CP.model_dump() | {"opens": "06:00"})
