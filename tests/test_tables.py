"""Rule state over a table: a person's rule states are one bundle, written once per record, only if changed."""

from __future__ import annotations

import json
from datetime import timedelta

from schemas import Alert, Severity
from streams.agents.tables import RecordView, TableState, held_repeats, table_state
from streams.alertbook import AlertBook, Published
from streams.rules import Finding
from streams.rules.fever import Fever
from streams.rules.travel import ImpossibleTravel
from tests.factories import NIGHT, enriched_event


class CountingTable(dict[bytes, bytes]):
    """Stands in for a Faust table: every item set is a changelog record, to the pinned partition if any."""

    writes = 0
    pinned: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.partitions: list[int | None] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        self.partitions.append(self.pinned)
        super().__setitem__(key, value)


def test_a_persons_rule_states_are_written_once_per_record_as_one_bundle() -> None:
    table = CountingTable()
    view = RecordView(table)
    fever = Fever(state=table_state(view, "fever"))
    travel = ImpossibleTravel(state=table_state(view, "impossible_travel"))
    for i in range(3):  # three readings of one person within one record
        event = enriched_event(f"e{i}", event_time=NIGHT + timedelta(minutes=i), temperature_c=38.0)
        fever.evaluate(event)
        travel.evaluate(event)
    assert table.writes == 0  # nothing written before the record is done
    assert view.flush() == 1
    assert table.writes == 1 and list(table) == [b"person|key-resident"]


def test_state_read_back_from_the_table_judges_like_state_kept_in_memory() -> None:
    table = CountingTable()
    view = RecordView(table)
    Fever(state=table_state(view, "fever")).evaluate(enriched_event("hot", temperature_c=38.0))
    view.flush()
    fever = Fever(state=table_state(RecordView(table), "fever"))
    resolved = fever.evaluate(enriched_event("ok", event_time=NIGHT + timedelta(minutes=3), temperature_c=36.6))
    assert resolved is not None and resolved.resolves


def test_an_unchanged_state_is_not_written_again() -> None:
    table = CountingTable()
    view = RecordView(table)
    state = table_state(view, "fever")
    Fever(state=state).evaluate(enriched_event("hot", temperature_c=38.0))
    view.flush()
    stored = state.get("key-resident")
    assert stored is not None
    state.put("key-resident", stored)
    assert view.flush() == 0 and table.writes == 1


def test_a_flush_for_a_named_partition_pins_its_writes_there_and_only_those() -> None:
    table = CountingTable()
    view = RecordView(table)
    Fever(state=table_state(view, "fever")).evaluate(enriched_event("hot", temperature_c=38.0))
    view.flush(partition=3)
    Fever(state=table_state(view, "fever")).evaluate(enriched_event("hotter", event_time=NIGHT + timedelta(
        minutes=1), temperature_c=39.5))
    view.flush()
    assert table.partitions == [3, None] and table.pinned is None


def test_repeats_held_in_the_table_are_found_by_a_scan_and_released_by_a_new_book() -> None:
    table = CountingTable()
    view = RecordView(table)
    interval = timedelta(seconds=30)

    def new_book() -> AlertBook:
        return AlertBook(TableState(view, "alert", Alert), windows={}, published=TableState(view, "published",
                         Published), repeat_interval=interval)

    book = new_book()
    finding = Finding("fever", 1, Severity.WARNING, "体温异常", "Fever")
    detected = NIGHT + timedelta(hours=1)
    [opened] = book.observe(finding, enriched_event("e1"), detected_at=detected)
    view.flush()
    assert held_repeats(table) == []
    assert book.observe(finding, enriched_event("e2", event_time=NIGHT + timedelta(minutes=1)),
                        detected_at=detected + timedelta(seconds=1)) == []
    view.flush()
    assert table.writes == 2  # the alert and its published mark are one bundle: one write per record
    [(key, mark)] = held_repeats(table)
    assert (key, mark.revision, mark.held) == (opened.fingerprint, 1, True)

    restarted = new_book()
    restarted.hold(key, mark)
    assert restarted.due(detected + timedelta(seconds=29)) == []
    assert restarted.due(detected + interval) == [key]
    released = restarted.release(key, detected + interval)
    view.flush()
    assert released is not None and (released.revision, released.count) == (2, 2)
    assert held_repeats(table) == []


def test_a_persons_states_under_their_old_key_move_to_the_new_key_once_and_judge_on() -> None:
    from streams.agents.tables import adopt
    from streams.rules.bypass import BypassEntry

    table = CountingTable()
    view = RecordView(table)
    travel = ImpossibleTravel(state=table_state(view, "impossible_travel"))
    gate = BypassEntry(state=table_state(view, "bypass_entry"))
    before = enriched_event("e1", subject_key="k1.old", event_time=NIGHT)
    travel.evaluate(before)
    gate.evaluate(before)
    view.flush()
    old_fields = set(json.loads(table[b"person|k1.old"]))
    assert adopt(view, "k2.new", ("k1.old",)) is True
    view.flush()
    assert b"person|k1.old" not in table  # the old key's bundle is gone, its states are the new key's
    assert set(json.loads(table[b"person|k2.new"])) == {f.replace("k1.old", "k2.new") for f in old_fields}
    assert adopt(view, "k2.new", ("k1.old",)) is False  # once
    assert table_state(view, "impossible_travel").get("k2.new") is not None
    assert adopt(RecordView(CountingTable()), "k2.other", ("k1.none",)) is False  # nothing to move


def test_a_state_read_again_unchanged_is_the_value_written_not_a_new_decode() -> None:
    table = CountingTable()
    view = RecordView(table)
    state = table_state(view, "fever")
    Fever(state=state).evaluate(enriched_event("hot", temperature_c=38.0))
    written = state.get("key-resident")
    view.flush()
    assert written is not None and state.get("key-resident") is written  # across records: remembered by content


def test_a_table_changed_underneath_the_view_is_read_afresh_not_from_what_it_remembers() -> None:
    """A recovery (or another worker, before a rebalance) writes other bytes: those are decoded, never a stale value."""
    table = CountingTable()
    view = RecordView(table)
    state = table_state(view, "fever")
    fever = Fever(state=state)
    fever.evaluate(enriched_event("hot", temperature_c=38.0))
    view.flush()
    other = RecordView(table)  # a second writer over the same table, as a changelog recovery would be
    Fever(state=table_state(other, "fever")).evaluate(
        enriched_event("hotter", event_time=NIGHT + timedelta(minutes=1), temperature_c=39.5))
    other.flush()
    seen = state.get("key-resident")
    assert seen is not None and seen.temperature_c == 39.5 and seen.event_id == "hotter"
    del table[b"person|key-resident"]
    view.flush()
    assert state.get("key-resident") is None
