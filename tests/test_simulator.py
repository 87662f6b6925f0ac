"""The simulator reproduces the article's street and incidents, deterministically."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from schemas import EventBatch, Passage, PerimeterReport, QrScan, Resident, RiskColour
from streams.idcard import is_valid
from streams.privacy import PersonKeys
from streams.simulate import (
    WALL_CLIMB_ADDRESS,
    Street,
    build_street,
    day_incidents,
    generate_day,
    publish_day,
    publish_master_data,
)
from streams.simulate.street import TZ

DAY = date(2020, 2, 8)
SMALL = 3_000


@pytest.fixture(scope="module")
def street() -> Street:
    return build_street(seed=11)


@pytest.fixture(scope="module")
def small_street() -> Street:
    return build_street(seed=11, residents=SMALL)


@pytest.fixture(scope="module")
def day_batches(street: Street) -> list[EventBatch]:
    return list(generate_day(street, seed=11, day=DAY))


def _events(batches: list[EventBatch]) -> list:
    return [e for b in batches for e in b.events]


def test_same_seed_gives_identical_street_and_batches(small_street: Street) -> None:
    again = build_street(seed=11, residents=SMALL)
    assert again == small_street
    first = list(itertools.islice(generate_day(small_street, seed=5), 200))
    second = list(itertools.islice(generate_day(again, seed=5), 200))
    assert [b.model_dump_json() for b in first] == [b.model_dump_json() for b in second]


def test_different_seed_gives_different_street_and_batches(small_street: Street) -> None:
    other = build_street(seed=12, residents=SMALL)
    assert other != small_street
    assert other.residents[0].id_number != small_street.residents[0].id_number
    a = [b.model_dump_json() for b in itertools.islice(generate_day(small_street, seed=5), 50)]
    b = [b.model_dump_json() for b in itertools.islice(generate_day(small_street, seed=6), 50)]
    assert a != b


def test_default_street_has_the_articles_territory(street: Street) -> None:
    large = {c.large_grids for c in street.communities}
    assert sum(len(g) for g in large) == 54
    assert len({c.small_grid for c in street.compounds}) == 108
    assert len(street.checkpoints) == 86
    assert len({c.checkpoint_id for c in street.checkpoints}) == 86
    names = {c.name for c in street.communities}
    assert {"文峰社区", "定阳社区"} <= names and len(names) >= 14
    for ci, comp in enumerate(street.compounds):
        gates = street.compound_checkpoints[ci]
        assert (1 <= len(gates) <= 2) if comp.closed else not gates
    for cp in street.checkpoints:
        assert abs(cp.lat - 28.90) < 0.05 and abs(cp.lon - 118.52) < 0.05
        assert cp.address


def test_default_street_has_the_articles_people(street: Street) -> None:
    people = street.residents
    assert len(people) == 18_400
    assert sum(c.dwellings for c in street.compounds) >= 10_000
    assert len({r.dwelling_id for r in people}) >= 10_000
    assert abs(sum(r.verified for r in people) / len(people) - 0.87) <= 0.01
    provinces = Counter(r.id_number[:2] for r in people)
    assert provinces["42"] == 140
    assert sum(n for p, n in provinces.items() if p not in ("33", "42")) == 1_442
    assert any(r.residency == "renter" for r in people)
    assert 200 <= len(street.quarantine_orders) <= 600
    hubei_ids = {r.id_number for r in people if r.id_number.startswith("42")}
    assert hubei_ids <= {q.id_number for q in street.quarantine_orders}


def test_returnee_counts_scale_with_residents(small_street: Street) -> None:
    provinces = Counter(r.id_number[:2] for r in small_street.residents)
    assert provinces["42"] == round(140 * SMALL / 18_400)
    assert sum(n for p, n in provinces.items() if p not in ("33", "42")) == round(1442 * SMALL / 18_400)


def test_every_register_entry_is_valid_and_ids_unique(street: Street) -> None:
    ids = [r.id_number for r in street.residents]
    assert len(set(ids)) == len(ids)
    assert all(is_valid(i) for i in ids)
    for r in street.residents[::97]:
        assert Resident.model_validate_json(r.model_dump_json()) == r


def test_risk_areas_mark_hubei_red_and_gongshu_yellow(street: Street) -> None:
    colours = {a.division_code: a.colour for a in street.risk_areas}
    assert colours["420100"] is RiskColour.RED and colours["420106"] is RiskColour.RED
    assert colours["330105"] is RiskColour.YELLOW


def test_day_has_two_to_three_events_per_resident_and_every_batch_revalidates(
    street: Street, day_batches: list[EventBatch]
) -> None:
    events = _events(day_batches)
    assert 2.0 <= len(events) / len(street.residents) <= 3.3
    for b in day_batches:
        assert EventBatch.model_validate_json(b.model_dump_json()) == b
        assert 1 <= len(b.events) <= 50 and all(e.checkpoint_id == b.source for e in b.events)
    assert len({e.event_id for e in events}) == len(events)
    assert len({b.batch_id for b in day_batches}) == len(day_batches)


def test_event_ids_in_day_are_valid_and_rare_signals_are_rare(day_batches: list[EventBatch]) -> None:
    persons = [e for e in _events(day_batches) if isinstance(e, Passage | QrScan) and e.id_number]
    assert all(is_valid(e.id_number) for e in persons)
    passages = [e for e in persons if isinstance(e, Passage)]
    fevers = sum(e.temperature_c >= 37.3 for e in passages)
    assert fevers <= len(passages) * 0.002
    codes = Counter(e.health_code for e in persons)
    assert codes["green"] / len(persons) > 0.99 and codes["red"] < codes["yellow"]
    assert any(e.subject_kind == "vehicle" for e in _events(day_batches))
    assert any(e.declared_origin for e in passages)


def test_event_times_are_in_the_day_and_out_of_order_by_at_most_one_batch(
    day_batches: list[EventBatch],
) -> None:
    start = datetime.combine(DAY, time(), TZ)
    newest = start
    for b in day_batches:
        times = [e.event_time for e in b.events]
        assert times == sorted(times)
        assert all(start <= t < start + timedelta(days=1) and t.utcoffset() == timedelta(hours=8) for t in times)
        assert times[0] >= newest - timedelta(seconds=10)
        newest = max(newest, times[-1])


def test_hourly_histogram_peaks_in_morning_and_evening(day_batches: list[EventBatch]) -> None:
    hours = Counter(e.event_time.hour for e in _events(day_batches))
    assert hours[7] > 1.5 * max(hours[5], hours[10], hours[12])
    evening = max(hours[h] for h in (17, 18, 19))
    assert evening > 1.5 * max(hours[12], hours[14], hours[23])


def test_origin_incident_declares_xiacheng_with_a_gongshu_card(
    street: Street, day_batches: list[EventBatch]
) -> None:
    inc = next(i for i in day_incidents(street, day=DAY) if i.name == "origin-mismatch")
    sent = {e.event_id: e for e in _events(day_batches)}
    (passage,) = (sent[eid] for eid in inc.event_ids)
    assert passage.declared_origin == "330103" and passage.id_number.startswith("330105")
    assert passage.direction == "in" and passage.event_time.hour == 22
    gongshu = next(a for a in street.risk_areas if a.division_code == "330105")
    assert gongshu.colour is RiskColour.YELLOW and gongshu.valid_from < passage.event_time
    she = next(r for r in street.residents if r.id_number == passage.id_number)
    assert she.community_code == street.community("文峰社区").code and she.verified
    gate = next(c for c in street.checkpoints if c.checkpoint_id == passage.checkpoint_id)
    assert gate.compound_id == she.compound_id
    assert she.id_number not in street.quarantined_on(DAY)
    assert sum(1 for e in sent.values() if getattr(e, "id_number", None) == she.id_number) == 1


def test_wall_climb_reports_two_unregistered_persons_at_donghe_north_street(
    street: Street, day_batches: list[EventBatch]
) -> None:
    inc = next(i for i in day_incidents(street, day=DAY) if i.name == "wall-climbing")
    sent = {e.event_id: e for e in _events(day_batches)}
    report, *passages = (sent[eid] for eid in inc.event_ids)
    assert isinstance(report, PerimeterReport)
    assert report.source == "guard" and report.person_count == 2 and len(report.id_numbers) == 2
    gate = street.checkpoint_at(WALL_CLIMB_ADDRESS)
    assert report.compound_id == gate.compound_id and report.checkpoint_id == gate.checkpoint_id
    assert gate.community_code == street.community("定阳社区").code
    assert report.event_time.hour in (21, 22)
    register = {r.id_number for r in street.residents_of(report.compound_id)}
    assert not register & set(report.id_numbers)
    assert [p.id_number for p in passages] == list(report.id_numbers)
    assert all(p.direction == "in" and p.checkpoint_id == gate.checkpoint_id for p in passages)
    assert all(p.event_time > report.event_time for p in passages)


def test_incidents_can_be_switched_off(small_street: Street) -> None:
    ids = {e.event_id for b in generate_day(small_street, seed=1, incidents=False) for e in b.events}
    assert not any(i.startswith("inc-") for i in ids)


def test_fixed_event_count_spans_days_and_stops_exactly(small_street: Street) -> None:
    batches = generate_day(small_street, seed=1, events=20_000)
    events = _events(list(batches))
    assert len(events) == 20_000
    assert len({e.event_time.date() for e in events}) > 1
    assert len({e.event_id for e in events}) == 20_000


class _FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> None:
        self.sent.append((topic, key, value))

    def flush(self, timeout: float | None = None) -> None:
        pass


def test_publish_keys_persons_pseudonymously_and_batches_by_terminal(small_street: Street) -> None:
    producer, keys = _FakeProducer(), PersonKeys(secret=b"test")
    counts = publish_master_data(small_street, producer=producer, topic=lambda t: f"x.{t}", person_keys=keys)
    assert counts["checkpoints"] == 86 and counts["residents"] == SMALL
    resident_keys = [k for t, k, _ in producer.sent if t == "x.residents"]
    assert resident_keys[0] == keys.key(small_street.residents[0].id_number).encode()
    assert all(not k.decode().isdigit() for k in resident_keys)

    incidents = day_incidents(small_street, day=DAY)
    seen: list[str] = []
    stats = publish_day(
        generate_day(small_street, seed=1, incidents=incidents),
        producer=producer,
        topic=lambda t: f"x.{t}",
        progress=False,
        incidents=incidents,
        on_incident=lambda inc, _at: seen.append(inc.name),
    )
    batches = [(k, v) for t, k, v in producer.sent if t == "x.events"]
    assert stats.batches == len(batches) and stats.events > 0 and stats.events_per_s > 0
    assert all(k == EventBatch.model_validate_json(v).source.encode() for k, v in batches)
    assert sorted(seen) == ["origin-mismatch", "wall-climbing"]
