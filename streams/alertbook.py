"""The alert book: one alert per condition, with suppression, lifecycle and a count.

Pure logic over a ``State[Alert]`` (``streams.rules.state``): no Faust, no
Kafka. The worker hands it a table and publishes what it returns; tests hand
it a ``MemoryState``.

State key: the alert's **fingerprint** (``streams.alerts.fingerprint``: rule,
subject, place). The worker must route findings *and* operator actions with
the same fingerprint to the same partition; ``AlertAction`` carries the
fingerprint for that reason. The value is the latest revision of the newest
alert of that fingerprint, resolved ones included (see "stale alerts").

Decisions, written down because operations rely on them:

* Revisions. Every change returns the whole alert with ``revision`` + 1;
  consumers keep the highest revision per ``alert_id``. ``change`` says what
  happened; a pager pages on ``"opened"`` and ``"escalated"`` only, so a
  repeat raises a count on the screen, not a phone.
* Suppression, by event time. A finding whose event lies within the rule's
  window after the alert's ``last_event_time`` folds into the open (or
  acknowledged) alert: ``count`` + 1, severity raised if the repeat is worse
  (``"escalated"``, and the alert takes the worse finding's texts), else
  ``"repeated"``. Event time, not processing time, so a replay or a backlog
  folds exactly as live traffic did.
* After the window the condition is new: the old alert is closed with
  ``change="expired"`` (resolved by ``rule:<id>``, its note naming the new
  alert) and a new alert opens; ``observe`` returns both, old first. Without
  the closing revision the old alert would stay open for ever with nobody able
  to act on it, since actions only reach the newest alert of a fingerprint.
* Late events. An event older than the alert's ``last_event_time`` still
  counts but never moves ``last_event_time`` back; ``event_time`` and
  ``place`` stay those of the opening event (the ClickHouse sorting key).
  How late an event may be at all is the stream's lateness setting, not the
  book's: the book judges whatever reaches it.
* Past occurrences. An event more than a window before the alert's opening
  event is no part of it: in event-time order it would have been an
  occurrence of its own, alerted (and expired) before this one opened. The
  book does not reopen the past, and it ignores such a finding. This is also
  what keeps a replay exact across an expiry: after a crash, the worker
  re-runs the events of the expired alert, whose ids the new alert does not
  list; counted, they raised the new alert's count (the fault campaign's
  SIGKILLs found a red code counted 4 times for 3 scans).
* Rules resolve their own alerts. A finding with ``resolves=True`` resolves
  the open alert of its fingerprint (by ``rule:<rule_id>``, note = the
  finding's Chinese summary, which is what the grid reads) and opens nothing;
  with no open alert it returns nothing. A resolving event older than the
  alert's ``last_event_time`` is ignored: by event time the condition was seen
  after it, and the latest evidence wins; unless the resolving finding names
  one of the alert's events in ``related_event_ids``: then it explains that
  very event (an entry uploaded after the sighting it accounts for). A
  finding from a register change (``register_change``: a person registered)
  resolves whatever the times and leaves ``last_event_time`` as it was: a
  register has no event time, and the wall clock is none.
* Stale alerts. A resident registered after their first scan: the scan opened
  ``unregistered_person``, the next scan (registered now) makes the rule emit
  ``resolves=True`` and the alert is resolved by the rule. A finding that
  arrives late but happened before that resolution (before ``last_event_time``
  of a rule-resolved alert, or before ``resolved_at`` of an operator-resolved
  one) is an echo of the closed condition and opens nothing; only a finding
  after it opens a new alert. That is why resolved alerts stay in the state.
* Replays. A finding whose event is already among the alert's ``event_ids``
  changes nothing (the worker re-running a batch after a crash). The list is
  capped at ``MAX_EVENT_IDS`` (the opening event and the latest ones), so the
  guard covers recent events only; exactly-once processing in the worker is
  what guarantees the rest.
* Operator actions (``apply``). Acknowledge an open alert; resolve an open or
  acknowledged one; comment on either. An action for an unknown alert, an
  alert that is no longer the newest of its fingerprint, or an already
  resolved alert returns ``None``: the caller ignores it (and counts it),
  since two operators acting at once or acting on an expired alert is normal
  operation, not a broken record to dead-letter. Acknowledging or resolving
  twice, or repeating the current note, changes nothing and returns ``None``.
* Repeats are coalesced for subscribers, not in the state. With a
  ``repeat_interval`` and a ``published`` state, a plain ``"repeated"``
  revision within the interval after the last revision published for that
  alert is *held*: the state has it (count, revision and event ids exact, so
  a rebuilt state is still the same), but ``observe`` returns nothing and the
  fingerprint is due at last-published + interval. ``due`` lists what is due
  and ``release`` returns the alert as it stands then, so a person scanned
  10,000 times in an hour gives a handful of revisions, the last one with
  count 10,000. Any other change (an escalation, expiry, resolution or an
  operator's action) is published at once and carries the held repeats with
  it. Processing time (``detected_at``), as alert managers group: a backlog
  drained in seconds gives one revision per alert, not one per repeat. What
  was last published is kept per fingerprint (``Published``) in the same
  table bundle as the alert, so a restarted or new owner finds held repeats
  with ``hold`` (from a scan) and releases them.
* Determinism. The same findings and actions in the same order give the same
  alerts, revision for revision: no clock and no randomness are read here
  (``detected_at`` comes in), so a rebuilt state matches the published one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas import Alert, AlertAction, EnrichedEvent, Severity
from streams.alerts import build_alert, fingerprint, subject_of
from streams.rules.base import Finding
from streams.rules.state import State

__all__ = ["DEFAULT_WINDOW", "MAX_EVENT_IDS", "AlertBook", "Published", "Windows"]

DEFAULT_WINDOW = timedelta(minutes=30)
"""Suppression window for a rule a mapping does not name."""

MAX_EVENT_IDS = 20
"""Event ids an alert lists: the opening event and the latest ones."""

NOTE_MAX = 500

Windows = Mapping[str, timedelta] | Callable[[str], timedelta]
"""Suppression window per rule id: a mapping (missing rules get the default) or a function."""

_RANK = {severity: rank for rank, severity in enumerate(Severity)}


class Published(BaseModel):
    """The revision of a fingerprint's newest alert that subscribers last got, and when; ``held`` when the
    state has moved on since (coalesced repeats waiting for ``release``)."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    revision: int
    at: datetime
    held: bool = False


class AlertBook:
    """Turns findings and operator actions into alert revisions to publish."""

    def __init__(self, state: State[Alert], *, windows: Windows, default_window: timedelta = DEFAULT_WINDOW,
                 published: State[Published] | None = None, repeat_interval: timedelta = timedelta(0)) -> None:
        self._state = state
        self._windows = windows
        self._default_window = default_window
        self._published = published if repeat_interval > timedelta(0) else None
        self._interval = repeat_interval
        self._held: dict[str, datetime] = {}  # fingerprint -> when its held repeats are due

    def window(self, rule_id: str) -> timedelta:
        """The suppression window of ``rule_id``."""
        if isinstance(self._windows, Mapping):
            return self._windows.get(rule_id, self._default_window)
        return self._windows(rule_id)

    def current(self, fingerprint: str) -> Alert | None:
        """The latest revision of the newest alert with this fingerprint, resolved or not."""
        return self._state.get(fingerprint)

    def observe(self, finding: Finding, event: EnrichedEvent, *, detected_at: datetime,
                key: str | None = None) -> list[Alert]:
        """The revisions ``finding`` causes to publish now, in order: none, one, or an expired and a new alert.
        ``key``: the fingerprint to fold it under, if not its own (one ``continues`` said yes to)."""
        if key is None:
            key = fingerprint(finding.rule_id, subject_of(finding, event), event.place, finding.scope)
        return self._gate(key, self._observe(key, finding, event, detected_at), detected_at)

    def continues(self, key: str, finding: Finding, event: EnrichedEvent) -> bool:
        """Whether the alert under ``key``, the fingerprint of this condition under the person's key of before a
        rotation of the person-key secret, takes ``finding``: it is not resolved, and the finding resolves it or
        comes within the rule's window of its last event. Then the alert goes on, under its own fingerprint and
        key, instead of a second alert being opened beside it on rotation day."""
        current = self._state.get(key)
        if current is None or current.status == "resolved":
            return False
        return finding.resolves or event.event_time - _last_event_time(current) <= self.window(finding.rule_id)

    def due(self, now: datetime) -> list[str]:
        """Fingerprints whose held repeats are due for ``release`` at ``now``."""
        return [key for key, at in self._held.items() if at <= now]

    def release(self, fingerprint: str, now: datetime) -> Alert | None:
        """The alert with its held repeats, to publish now (``None`` if nothing is held for it any more)."""
        self._held.pop(fingerprint, None)
        if self._published is None:
            return None
        mark, current = self._published.get(fingerprint), self._state.get(fingerprint)
        if mark is None or not mark.held or current is None or current.revision <= mark.revision:
            return None
        self._published.put(fingerprint, Published(alert_id=current.alert_id, revision=current.revision, at=now))
        return current

    def hold(self, fingerprint: str, mark: Published) -> None:
        """Note held repeats found in the state (after a restart or a rebalance) so ``due`` lists them."""
        if mark.held and self._published is not None:
            self._held[fingerprint] = mark.at + self._interval

    def forget(self, fingerprint: str) -> None:
        """Stop listing ``fingerprint`` as due (its partition went to another worker, which finds it itself)."""
        self._held.pop(fingerprint, None)

    def _gate(self, key: str, revisions: list[Alert], now: datetime) -> list[Alert]:
        if self._published is None or not revisions:
            return revisions
        mark = self._published.get(key)
        last = revisions[-1]
        if (mark is not None and len(revisions) == 1 and last.change == "repeated"
                and mark.alert_id == last.alert_id and now - mark.at < self._interval):
            if not mark.held:
                self._published.put(key, mark.model_copy(update={"held": True}))
            self._held[key] = mark.at + self._interval
            return []
        self._published.put(key, Published(alert_id=last.alert_id, revision=last.revision, at=now))
        self._held.pop(key, None)
        return revisions

    def _observe(self, key: str, finding: Finding, event: EnrichedEvent, detected_at: datetime) -> list[Alert]:
        current = self._state.get(key)
        if current is not None and event.event_id in current.event_ids:
            return []
        if finding.resolves:
            return self._resolve_by_rule(current, finding, event, detected_at)
        if current is None:
            return [self._open(finding, event, detected_at)]
        if current.status == "resolved":
            if event.event_time <= _closed_at(current):
                return []
            return [self._open(finding, event, detected_at)]
        window = self.window(finding.rule_id)
        if event.event_time < current.event_time - window:
            return []  # a past occurrence (an expired predecessor's event replayed after a crash): not this one's
        if event.event_time - _last_event_time(current) <= window:
            return [self._fold(current, finding, event, detected_at)]
        opened = build_alert(finding, event, detected_at=detected_at)
        expired = _revise(
            current,
            change="expired",
            status="resolved",
            at=detected_at,
            by=_rule(finding),
            resolved_by=_rule(finding),
            resolved_at=detected_at,
            note=_clip(f"no repeat within {window}; continued as alert {opened.alert_id}"),
        )
        self._state.put(key, opened)
        return [expired, opened]

    def apply(self, action: AlertAction) -> Alert | None:
        """The revision an operator's action makes, or ``None`` if it changes nothing (see module docs)."""
        current = self._state.get(action.fingerprint)
        if current is None or current.alert_id != action.alert_id or current.status == "resolved":
            return None
        common: dict[str, Any] = {"at": action.at, "by": action.by}
        if action.action == "acknowledge":
            if current.status == "acknowledged":
                return None
            revised = _revise(
                current, change="acknowledged", status="acknowledged", acknowledged_by=action.by,
                acknowledged_at=action.at, note=action.note or current.note, **common,
            )
        elif action.action == "resolve":
            revised = _revise(
                current, change="resolved", status="resolved", resolved_by=action.by, resolved_at=action.at,
                note=action.note or current.note, **common,
            )
        else:
            if action.note == current.note:
                return None
            revised = _revise(current, change="commented", note=action.note, **common)
        self._state.put(action.fingerprint, revised)
        return self._gate(action.fingerprint, [revised], action.at)[0]

    # internals

    def _open(self, finding: Finding, event: EnrichedEvent, detected_at: datetime) -> Alert:
        alert = build_alert(finding, event, detected_at=detected_at)
        self._state.put(alert.fingerprint, alert)
        return alert

    def _fold(self, current: Alert, finding: Finding, event: EnrichedEvent, detected_at: datetime) -> Alert:
        worse = _RANK[finding.severity] > _RANK[current.severity]
        texts: dict[str, Any] = {}
        if worse:
            texts = {
                "severity": finding.severity,
                "summary_zh": finding.summary_zh,
                "summary_en": finding.summary_en,
                "action": finding.action or current.action,
            }
        revised = _revise(
            current,
            change="escalated" if worse else "repeated",
            at=detected_at,
            by=_rule(finding),
            count=current.count + 1,
            last_event_time=max(_last_event_time(current), event.event_time),
            event_ids=_with_event(current.event_ids, event.event_id),
            **texts,
        )
        self._state.put(current.fingerprint, revised)
        return revised

    def _resolve_by_rule(
        self, current: Alert | None, finding: Finding, event: EnrichedEvent, detected_at: datetime
    ) -> list[Alert]:
        if current is None or current.status == "resolved":
            return []
        explains = bool(set(finding.related_event_ids) & set(current.event_ids))
        if event.event_time < _last_event_time(current) and not (explains or finding.register_change):
            return []
        # a register change happens outside event time: the alert has dealt with its condition up to its own
        # last event (a wall-clock time here made every later recurrence with earlier event times an "echo")
        last = _last_event_time(current) if finding.register_change else max(event.event_time,
                                                                               _last_event_time(current))
        resolved = _revise(
            current,
            change="resolved",
            status="resolved",
            at=detected_at,
            by=_rule(finding),
            resolved_by=_rule(finding),
            resolved_at=detected_at,
            note=_clip(finding.summary_zh),
            last_event_time=last,
            event_ids=_with_event(current.event_ids, event.event_id),
        )
        self._state.put(current.fingerprint, resolved)
        return [resolved]


def _revise(alert: Alert, *, change: str, at: datetime, by: str, **fields: Any) -> Alert:
    """The next revision: validated again, so a wrong field fails here, not in a consumer."""
    values = alert.model_dump()
    values.update(fields, change=change, revision=alert.revision + 1, updated_at=at, updated_by=by)
    return Alert.model_validate(values)


def _rule(finding: Finding) -> str:
    return f"rule:{finding.rule_id}"


def _last_event_time(alert: Alert) -> datetime:
    return alert.last_event_time or alert.event_time


def _closed_at(alert: Alert) -> datetime:
    """Up to which event time a resolved alert has dealt with its condition."""
    last = _last_event_time(alert)
    if alert.resolved_by.startswith("rule:") or alert.resolved_at is None:
        return last
    # An operator closed it on what they knew at resolved_at (wall clock, compared with event time).
    return max(last, alert.resolved_at)


def _with_event(event_ids: tuple[str, ...], event_id: str) -> tuple[str, ...]:
    ids = (*event_ids, event_id)
    if len(ids) <= MAX_EVENT_IDS:
        return ids
    return (ids[0], *ids[len(ids) - MAX_EVENT_IDS + 1 :])


def _clip(text: str) -> str:
    return text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"
