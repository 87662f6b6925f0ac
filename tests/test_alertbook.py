"""The alert book: suppression with counts, lifecycle, rule resolution, late and replayed events."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import Alert, AlertAction, EnrichedEvent, Place, Severity
from streams.alertbook import MAX_EVENT_IDS, AlertBook, Published
from streams.alerts import fingerprint
from streams.rules import Finding
from streams.rules.state import MemoryState
from streams.rules.unregistered import registered_since
from tests.factories import NIGHT, RESIDENTS

GATE = Place(checkpoint_id="cp-1", compound_id="co-1", community_code="c", large_grid="LG1", small_grid="SG2")
WINDOW = timedelta(minutes=10)
DETECTED = NIGHT + timedelta(hours=1)

FEVER = Finding("fever", 1, Severity.WARNING, "体温异常", "Fever", action="复测体温")
UNREGISTERED = Finding("unregistered_person", 1, Severity.WARNING, "未登记人员", "Unregistered person")
REGISTERED = Finding("unregistered_person", 1, Severity.INFO, "已补登记", "Registered now", resolves=True)
UNREGISTERED_AT_COMPOUND = dataclasses.replace(UNREGISTERED, scope="compound")


def event(event_id: str, minutes: float = 0, *, subject_key: str = "pk-1", place: Place = GATE) -> EnrichedEvent:
    return EnrichedEvent(
        event_id=event_id, event_type="qr_scan", event_time=NIGHT + timedelta(minutes=minutes), place=place,
        subject_key=subject_key, subject_masked="330822********1234",
    )


def book(windows: dict[str, timedelta] | None = None) -> AlertBook:
    return AlertBook(MemoryState[Alert](), windows=windows if windows is not None else {}, default_window=WINDOW)


def action(alert: Alert, kind: str, *, by: str = "op-17", minutes: float = 30, note: str = "") -> AlertAction:
    return AlertAction(
        action_id=f"act-{kind}-{minutes}", alert_id=alert.alert_id, fingerprint=alert.fingerprint,
        action=kind, by=by, at=NIGHT + timedelta(minutes=minutes), note=note,
    )


def only(alerts: list[Alert]) -> Alert:
    assert len(alerts) == 1, alerts
    return alerts[0]


def test_first_finding_opens_an_alert_kept_under_its_fingerprint() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1"), detected_at=DETECTED))
    assert (opened.status, opened.count, opened.revision, opened.change) == ("open", 1, 1, "opened")
    assert opened.fingerprint == fingerprint("fever", "pk-1", GATE)
    assert b.current(opened.fingerprint) == opened


def test_repeat_within_the_window_raises_the_count_on_the_open_alert() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    repeat = only(b.observe(FEVER, event("e2", 5), detected_at=DETECTED + timedelta(minutes=5)))
    assert repeat.alert_id == opened.alert_id
    assert (repeat.count, repeat.revision, repeat.change, repeat.status) == (2, 2, "repeated", "open")
    assert repeat.last_event_time == NIGHT + timedelta(minutes=5)
    assert repeat.event_time == opened.event_time
    assert repeat.detected_at == opened.detected_at
    assert repeat.updated_at == DETECTED + timedelta(minutes=5)
    assert repeat.event_ids == ("e1", "e2")


def test_window_is_measured_from_the_last_event_not_the_first() -> None:
    b = book()
    results = [b.observe(FEVER, event(f"e{m}", m), detected_at=DETECTED) for m in (0, 8, 16, 24)]
    assert [only(r).count for r in results] == [1, 2, 3, 4]
    assert len({only(r).alert_id for r in results}) == 1


def test_after_the_window_the_old_alert_expires_and_a_new_one_opens() -> None:
    b = book()
    old = only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    expired, new = b.observe(FEVER, event("e2", 11), detected_at=DETECTED)
    assert (expired.alert_id, expired.revision, expired.status, expired.change) == (old.alert_id, 2, "resolved",
                                                                                     "expired")
    assert expired.resolved_by == "rule:fever"
    assert new.alert_id in expired.note
    assert (new.alert_id != old.alert_id, new.revision, new.count, new.status) == (True, 1, 1, "open")
    assert b.current(old.fingerprint) == new


def test_a_replayed_event_of_the_expired_alert_does_not_count_into_the_one_that_continued_it() -> None:
    b = book()
    b.observe(FEVER, event("e1", 0), detected_at=DETECTED)
    _, new = b.observe(FEVER, event("e2", 30), detected_at=DETECTED)
    b.observe(FEVER, event("e3", 31), detected_at=DETECTED)
    # after a crash the worker re-runs e1..e3: e1 belongs to the expired alert, e2 and e3 are listed
    for replayed in ("e1", 0), ("e2", 30), ("e3", 31):
        assert b.observe(FEVER, event(*replayed), detected_at=DETECTED + timedelta(hours=1)) == []
    current = b.current(new.fingerprint)
    assert current is not None and (current.alert_id, current.count) == (new.alert_id, 2)


def test_a_late_event_within_a_window_before_the_opening_one_still_counts() -> None:
    b = book()
    b.observe(FEVER, event("e1", 30), detected_at=DETECTED)
    assert only(b.observe(FEVER, event("e0", 21), detected_at=DETECTED)).count == 2
    assert b.observe(FEVER, event("e-1", 19), detected_at=DETECTED) == []  # more than a window before: the past


def test_windows_come_per_rule_from_a_mapping_or_a_function() -> None:
    by_map = book({"fever": timedelta(minutes=30)})
    by_map.observe(FEVER, event("e1", 0), detected_at=DETECTED)
    assert only(by_map.observe(FEVER, event("e2", 25), detected_at=DETECTED)).count == 2
    by_map.observe(UNREGISTERED, event("u1", 0), detected_at=DETECTED)
    assert len(by_map.observe(UNREGISTERED, event("u2", 25), detected_at=DETECTED)) == 2  # default window: 10 min

    by_function = AlertBook(MemoryState[Alert](), windows=lambda rule: timedelta(minutes=1 if rule == "fever" else 60))
    by_function.observe(FEVER, event("e1", 0), detected_at=DETECTED)
    assert len(by_function.observe(FEVER, event("e2", 2), detected_at=DETECTED)) == 2
    assert by_function.window("other") == timedelta(minutes=60)


def test_a_worse_repeat_escalates_and_a_milder_one_keeps_the_severity() -> None:
    b = book()
    b.observe(FEVER, event("e1", 0), detected_at=DETECTED)
    high = Finding("fever", 1, Severity.HIGH, "高烧", "High fever", action="送发热门诊")
    escalated = only(b.observe(high, event("e2", 1), detected_at=DETECTED))
    assert (escalated.severity, escalated.change, escalated.summary_en, escalated.action) == (
        Severity.HIGH, "escalated", "High fever", "送发热门诊")
    milder = only(b.observe(FEVER, event("e3", 2), detected_at=DETECTED))
    assert (milder.severity, milder.change, milder.summary_en, milder.count) == (Severity.HIGH, "repeated",
                                                                                 "High fever", 3)


def test_late_event_counts_but_never_moves_last_event_time_back() -> None:
    b = book()
    b.observe(FEVER, event("e1", 10), detected_at=DETECTED)
    b.observe(FEVER, event("e2", 15), detected_at=DETECTED)
    late = only(b.observe(FEVER, event("e0", 2), detected_at=DETECTED))
    assert late.count == 3
    assert late.last_event_time == NIGHT + timedelta(minutes=15)
    assert late.event_time == NIGHT + timedelta(minutes=10)


def test_replayed_event_changes_nothing() -> None:
    b = book()
    b.observe(FEVER, event("e1", 0), detected_at=DETECTED)
    b.observe(FEVER, event("e2", 1), detected_at=DETECTED)
    before = b.current(fingerprint("fever", "pk-1", GATE))
    assert b.observe(FEVER, event("e2", 1), detected_at=DETECTED + timedelta(hours=3)) == []
    assert b.current(fingerprint("fever", "pk-1", GATE)) == before


def test_event_ids_keep_the_opening_event_and_the_latest_ones() -> None:
    b = book()
    for i in range(MAX_EVENT_IDS + 5):
        last = only(b.observe(FEVER, event(f"e{i}", i), detected_at=DETECTED))
    assert len(last.event_ids) == MAX_EVENT_IDS
    assert last.event_ids[0] == "e0"
    assert last.event_ids[-1] == f"e{MAX_EVENT_IDS + 4}"
    assert last.count == MAX_EVENT_IDS + 5


def test_rule_resolves_its_own_open_alert_and_opens_nothing() -> None:
    b = book()
    opened = only(b.observe(UNREGISTERED, event("s1", 0), detected_at=DETECTED))
    resolved = only(b.observe(REGISTERED, event("s2", 30), detected_at=DETECTED + timedelta(minutes=30)))
    assert (resolved.alert_id, resolved.status, resolved.change, resolved.revision) == (opened.alert_id, "resolved",
                                                                                        "resolved", 2)
    assert resolved.resolved_by == "rule:unregistered_person"
    assert resolved.resolved_at == DETECTED + timedelta(minutes=30)
    assert resolved.note == "已补登记"
    assert resolved.count == 1
    assert resolved.severity == Severity.WARNING


def test_resolving_finding_without_an_open_alert_returns_nothing() -> None:
    b = book()
    assert b.observe(REGISTERED, event("s1", 0), detected_at=DETECTED) == []
    assert b.current(fingerprint("unregistered_person", "pk-1", GATE)) is None


def test_resident_registered_after_first_scan_leaves_no_stale_alert_open() -> None:
    """The written-down policy: the rule resolves; a late echo from before does not reopen; later scans do."""
    b = book()
    b.observe(UNREGISTERED, event("s1", 0), detected_at=DETECTED)
    b.observe(REGISTERED, event("s3", 20), detected_at=DETECTED)
    # A scan from before the registration arrives late: the condition it shows is already resolved.
    assert b.observe(UNREGISTERED, event("s2", 10), detected_at=DETECTED) == []
    latest = b.current(fingerprint("unregistered_person", "pk-1", GATE))
    assert latest is not None and latest.status == "resolved"
    # Seen unregistered again after the resolution (the register dropped them): a new alert.
    reopened = only(b.observe(UNREGISTERED, event("s4", 40), detected_at=DETECTED))
    assert (reopened.status, reopened.revision) == ("open", 1)
    assert reopened.alert_id != latest.alert_id


def test_a_registration_resolves_without_its_wall_clock_making_a_later_recurrence_an_echo() -> None:
    """A register change has no event time: stamped with today's clock, it made every later scan of the same
    day's input (a replay, a second simulated run) look older than the resolution and open nothing."""
    b = book()
    scan = event("s1", 0, place=GATE)
    opened = only(b.observe(UNREGISTERED_AT_COMPOUND, scan, detected_at=DETECTED))
    resident = RESIDENTS[0].model_copy(update={"compound_id": GATE.compound_id,
                                                "community_code": GATE.community_code})
    finding, registered = registered_since("pk-1", resident, offset=42, version=1, now=datetime.now(UTC))
    resolved = only(b.observe(finding, registered, detected_at=DETECTED))
    assert (resolved.alert_id, resolved.status, resolved.resolved_by) == (
        opened.alert_id, "resolved", "rule:unregistered_person")
    assert resolved.last_event_time == scan.event_time  # the events' clock, not the wall's
    # the register dropped the person again; seen unregistered an hour later by event time: a new alert
    again = only(b.observe(UNREGISTERED_AT_COMPOUND, event("s2", 60, place=GATE), detected_at=DETECTED))
    assert (again.change, again.status) == ("opened", "open") and again.alert_id != opened.alert_id


def test_resolving_event_older_than_the_last_sighting_of_the_condition_is_ignored() -> None:
    b = book({"unregistered_person": timedelta(hours=1)})
    b.observe(UNREGISTERED, event("s1", 0), detected_at=DETECTED)
    b.observe(UNREGISTERED, event("s3", 30), detected_at=DETECTED)
    assert b.observe(REGISTERED, event("s2", 20), detected_at=DETECTED) == []
    latest = b.current(fingerprint("unregistered_person", "pk-1", GATE))
    assert latest is not None and (latest.status, latest.count) == ("open", 2)


def test_an_older_resolving_event_that_names_the_alerts_event_resolves_it() -> None:
    b = book({"unregistered_person": timedelta(hours=1)})
    b.observe(UNREGISTERED, event("seen", 30), detected_at=DETECTED)
    late_entry = dataclasses.replace(REGISTERED, related_event_ids=("seen",))  # an upload that explains "seen"
    resolved = only(b.observe(late_entry, event("entry", 20), detected_at=DETECTED))
    assert (resolved.status, resolved.change) == ("resolved", "resolved")
    assert resolved.last_event_time == NIGHT + timedelta(minutes=30)  # never moved back


def test_operator_acknowledges_then_resolves_with_who_when_and_note() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1"), detected_at=DETECTED))
    acked = b.apply(action(opened, "acknowledge", minutes=20, note="已派人"))
    assert acked is not None
    assert (acked.status, acked.revision, acked.acknowledged_by, acked.note) == ("acknowledged", 2, "op-17", "已派人")
    assert acked.acknowledged_at == acked.updated_at == NIGHT + timedelta(minutes=20)
    repeat = only(b.observe(FEVER, event("e2", 5), detected_at=DETECTED))
    assert (repeat.status, repeat.count, repeat.revision) == ("acknowledged", 2, 3)
    resolved = b.apply(action(opened, "resolve", by="op-03", minutes=40))
    assert resolved is not None
    assert (resolved.status, resolved.resolved_by, resolved.revision) == ("resolved", "op-03", 4)
    assert resolved.note == "已派人"  # a resolve without a note keeps the acknowledgement's
    assert resolved.acknowledged_by == "op-17"


def test_actions_that_change_nothing_return_none_and_keep_the_state() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1"), detected_at=DETECTED))
    assert b.apply(action(opened, "acknowledge")) is not None
    assert b.apply(action(opened, "acknowledge", minutes=31)) is None
    assert b.apply(action(opened, "comment", note="复测36.8")) is not None
    assert b.apply(action(opened, "comment", minutes=32, note="复测36.8")) is None
    resolved = b.apply(action(opened, "resolve", minutes=33))
    assert resolved is not None
    for kind, note in (("resolve", ""), ("acknowledge", ""), ("comment", "again")):
        assert b.apply(action(opened, kind, minutes=34, note=note)) is None
    assert b.current(opened.fingerprint) == resolved


def test_action_for_an_unknown_or_superseded_alert_returns_none() -> None:
    b = book()
    old = only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    stranger = old.model_copy(update={"fingerprint": "f" * 32})
    assert b.apply(action(stranger, "acknowledge")) is None
    b.observe(FEVER, event("e2", 60), detected_at=DETECTED)  # old expired, a new alert took the fingerprint
    assert b.apply(action(old, "acknowledge")) is None


def test_late_finding_from_before_an_operator_resolution_does_not_reopen() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    b.apply(action(opened, "resolve", minutes=30))
    assert b.observe(FEVER, event("e2", 25), detected_at=DETECTED) == []
    assert only(b.observe(FEVER, event("e3", 35), detected_at=DETECTED)).revision == 1


def test_comment_needs_a_note_and_notes_are_bounded() -> None:
    with pytest.raises(ValidationError, match="comment needs a note"):
        AlertAction(action_id="a1", alert_id="x", fingerprint="f", action="comment", by="op-1", at=NIGHT)
    with pytest.raises(ValidationError, match="500"):
        AlertAction(action_id="a1", alert_id="x", fingerprint="f", action="resolve", by="op-1", at=NIGHT,
                    note="x" * 501)
    with pytest.raises(ValidationError, match="by"):
        AlertAction(action_id="a1", alert_id="x", fingerprint="f", action="resolve", by="Zhang San", at=NIGHT)


# Determinism and invariants over arbitrary interleavings.

SUBJECTS = ("pk-1", "pk-2")
RULES = {
    "fever": (Severity.WARNING, Severity.HIGH),
    "unregistered_person": (Severity.INFO, Severity.WARNING),
}

finding_ops = st.tuples(
    st.just("finding"),
    st.sampled_from(sorted(RULES)),
    st.sampled_from(SUBJECTS),
    st.integers(min_value=0, max_value=90),  # event minute: late, repeated and expired cases all occur
    st.integers(min_value=0, max_value=1),  # severity index
    st.booleans(),  # resolves
)
action_ops = st.tuples(
    st.just("action"),
    st.sampled_from(sorted(RULES)),
    st.sampled_from(SUBJECTS),
    st.integers(min_value=0, max_value=90),
    st.sampled_from(("acknowledge", "resolve", "comment")),
    st.sampled_from(("op-1", "op-2")),
)
operations = st.lists(st.one_of(finding_ops, action_ops), max_size=40)


def run(ops: list[tuple[object, ...]]) -> list[Alert]:
    b = book()
    published: list[Alert] = []
    for i, op in enumerate(ops):
        kind, rule, subject, minute = op[0], str(op[1]), str(op[2]), int(op[3])  # type: ignore[call-overload]
        if kind == "finding":
            severity = RULES[rule][int(op[4])]  # type: ignore[call-overload]
            finding = Finding(rule, 1, severity, rule, rule, resolves=bool(op[5]))
            published += b.observe(finding, event(f"ev-{i}", minute, subject_key=subject),
                                   detected_at=DETECTED + timedelta(seconds=i))
        else:
            current = b.current(fingerprint(rule, subject, GATE))
            if current is None:
                continue
            revised = b.apply(AlertAction(
                action_id=f"act-{i}", alert_id=current.alert_id, fingerprint=current.fingerprint,
                action=op[4], by=str(op[5]), at=NIGHT + timedelta(minutes=minute), note=f"note {i}",
            ))
            if revised is not None:
                published.append(revised)
    return published


@settings(max_examples=150, deadline=None)
@given(operations)
def test_same_findings_in_the_same_order_give_the_same_alerts(ops: list[tuple[object, ...]]) -> None:
    assert run(ops) == run(ops)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_revisions_are_consecutive_and_an_alert_never_changes_after_resolution(ops: list[tuple[object, ...]]) -> None:
    history: dict[str, list[Alert]] = defaultdict(list)
    for alert in run(ops):
        revisions = history[alert.alert_id]
        assert alert.revision == len(revisions) + 1
        assert (alert.change == "opened") == (alert.revision == 1)
        if revisions:
            before = revisions[-1]
            assert before.status != "resolved"
            assert (alert.fingerprint, alert.event_time, alert.place) == (before.fingerprint, before.event_time,
                                                                          before.place)
            assert alert.last_event_time is not None and before.last_event_time is not None
            assert alert.last_event_time >= before.last_event_time
            assert alert.count == before.count + (alert.change in ("repeated", "escalated"))
        revisions.append(alert)
    unresolved: dict[str, int] = defaultdict(int)
    for revisions in history.values():
        if revisions[-1].status != "resolved":
            unresolved[revisions[-1].fingerprint] += 1
    assert all(n == 1 for n in unresolved.values())


def test_a_finding_is_folded_on_the_partition_kafkas_default_partitioner_gives_its_fingerprint() -> None:
    # operators' actions are keyed by fingerprint and partitioned by the producer's default partitioner: the
    # in-process fold must pick the same partition, or an action would reach a book that never saw the alert
    from kafka.partitioner.default import DefaultPartitioner

    from streams.agents.delivery import kafka_partition

    class Cluster:  # the metadata kafka-python's partitioner reads: four partitions, all available
        def topics(self) -> set[str]:
            return {"findings"}

        def partitions_for_topic(self, topic: str) -> set[int]:
            return {0, 1, 2, 3}

        available_partitions_for_topic = partitions_for_topic

    partitioner = DefaultPartitioner()
    for i in range(200):
        key = f"fever|person-{i}|cp-{i % 7}"
        assert kafka_partition(key, 4) == partitioner.partition("findings", key, key.encode(), None, None, Cluster())


INTERVAL = timedelta(seconds=30)


def coalescing_book() -> tuple[AlertBook, MemoryState[Alert], MemoryState[Published]]:
    alerts, published = MemoryState[Alert](), MemoryState[Published]()
    return AlertBook(alerts, windows={}, default_window=timedelta(hours=2), published=published,
                     repeat_interval=INTERVAL), alerts, published


def test_ten_thousand_repeats_within_an_hour_give_one_revision_per_interval_and_the_exact_count() -> None:
    b, _, _ = coalescing_book()
    published: list[tuple[datetime, Alert]] = []
    for i in range(10_000):  # one scan every 0.36 s, detected as it happens
        at = DETECTED + timedelta(seconds=i * 0.36)
        published += [(at, a) for a in b.observe(FEVER, event(f"e{i}", i * 0.006), detected_at=at)]
        published += [(at, a) for key in b.due(at) if (a := b.release(key, at)) is not None]
    end = DETECTED + timedelta(hours=1, seconds=30)
    published += [(end, a) for key in b.due(end) if (a := b.release(key, end)) is not None]
    alerts = [a for _, a in published]
    assert alerts[0].change == "opened"
    assert {a.change for a in alerts[1:]} == {"repeated"}
    assert len(alerts) <= 1 + 3600 / INTERVAL.total_seconds() + 1
    assert [a.revision for a in alerts] == sorted({a.revision for a in alerts})
    assert min(later - earlier for (earlier, _), (later, _) in pairwise(published)) >= INTERVAL
    assert (alerts[-1].count, alerts[-1].revision) == (10_000, 10_000)
    assert b.due(end + INTERVAL * 10) == []


def test_a_held_repeat_goes_out_with_the_next_escalation_and_the_state_is_the_uncoalesced_one() -> None:
    b, alerts, published = coalescing_book()
    plain = book()
    critical = dataclasses.replace(FEVER, severity=Severity.CRITICAL)
    steps = [(FEVER, "e1", 0), (FEVER, "e2", 1), (critical, "e3", 2)]
    out = [b.observe(f, event(i, m), detected_at=DETECTED + timedelta(seconds=m)) for f, i, m in steps]
    uncoalesced = [plain.observe(f, event(i, m), detected_at=DETECTED + timedelta(seconds=m)) for f, i, m in steps]
    assert [[a.change for a in o] for o in out] == [["opened"], [], ["escalated"]]
    assert (out[2][0].count, out[2][0].revision) == (3, 3)
    assert out[2][0] == uncoalesced[2][0]  # same revision, word for word, as without coalescing
    key = out[0][0].fingerprint
    assert alerts.get(key) == plain.current(key)
    mark = published.get(key)
    assert mark is not None and (mark.revision, mark.held) == (3, False)
    assert b.due(DETECTED + timedelta(hours=1)) == []


def test_an_operator_action_publishes_at_once_and_carries_the_held_count() -> None:
    b, _, _ = coalescing_book()
    opened = only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    assert b.observe(FEVER, event("e2", 1), detected_at=DETECTED + timedelta(seconds=5)) == []
    acked = b.apply(action(opened, "acknowledge", minutes=61))
    assert acked is not None and (acked.change, acked.count, acked.revision) == ("acknowledged", 2, 3)
    assert b.due(DETECTED + timedelta(hours=2)) == []


def test_held_repeats_found_after_a_restart_are_released_by_the_new_book() -> None:
    b, alerts, published = coalescing_book()
    only(b.observe(FEVER, event("e1", 0), detected_at=DETECTED))
    b.observe(FEVER, event("e2", 1), detected_at=DETECTED + timedelta(seconds=5))
    key = fingerprint("fever", "pk-1", GATE)
    restarted = AlertBook(alerts, windows={}, published=published, repeat_interval=INTERVAL)
    assert restarted.due(DETECTED + timedelta(minutes=5)) == []  # knows nothing until it scans
    mark = published.get(key)
    assert mark is not None and mark.held
    restarted.hold(key, mark)
    assert restarted.due(DETECTED + timedelta(seconds=29)) == []
    released = restarted.release(key, DETECTED + timedelta(seconds=30))
    assert released is not None and (released.change, released.count) == ("repeated", 2)
    assert restarted.release(key, DETECTED + timedelta(seconds=31)) is None  # released once


def test_a_zero_repeat_interval_publishes_every_repeat() -> None:
    b = AlertBook(MemoryState[Alert](), windows={}, published=MemoryState[Published](), repeat_interval=timedelta(0))
    out = [b.observe(FEVER, event(f"e{i}", i), detected_at=DETECTED) for i in range(3)]
    assert [only(o).change for o in out] == ["opened", "repeated", "repeated"]


def test_after_a_rotation_the_alert_opened_under_the_old_key_takes_what_follows_while_it_is_open() -> None:
    b = book()
    opened = only(b.observe(FEVER, event("e1", subject_key="k1.old"), detected_at=DETECTED))
    old, new = opened.fingerprint, fingerprint("fever", "k2.new", GATE)
    follows = event("e2", 5, subject_key="k2.new")
    assert b.continues(old, FEVER, follows)
    folded = only(b.observe(FEVER, follows, detected_at=DETECTED, key=old))
    assert (folded.alert_id, folded.count, folded.subject_key) == (opened.alert_id, 2, "k1.old")
    assert b.current(new) is None  # no second alert beside it
    assert not b.continues(old, FEVER, event("e3", 5 + 11, subject_key="k2.new"))  # past the window: a new one
    resolved = b.apply(action(folded, "resolve", minutes=20))
    assert resolved is not None and not b.continues(old, FEVER, event("e4", 21, subject_key="k2.new"))
    assert not b.continues(fingerprint("fever", "k1.never", GATE), FEVER, follows)
