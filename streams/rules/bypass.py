"""Anti-passback (防回传): inside a closed compound without having come through its gates.

The wall climb of the Lantern Festival night is seen only afterwards: a person
is scanned at an inner point, found on a household visit or stopped by a
patrol inside a closed compound, yet their last passage at the compound's
gates was not inward (or there is none); or, the mirror case, they leave
through a gate without ever having entered through one.

What counts as a passage: a person's guard-recorded passage at a ``gate``
checkpoint, and a QR scan at a gate, which is how residents enter (扫码进村).
A sighting is a ``sighting`` event, or any person event at an ``inner``
checkpoint. The mirror case is judged for closed compounds only: an open
compound has other ways in.

The control period is how long an inward passage vouches for a person who
does not live there (a visitor, an outsider). The compound's own residents
(``home_compound_id``) differ, and so do the first days of closure:

* a resident with no passage history is not flagged, inside or leaving: they
  were at home when the closure began, before the gates recorded anything;
* a resident's inward passage vouches for them however old (home is inside; a
  person in home quarantine is seen on patrol checks for 14 days); only a last
  passage outward makes a resident seen inside (or leaving again) suspicious;
* a person who does not live there is flagged without a passage history, after
  a last passage outward, or after an inward one older than the control
  period, unless a guard-registered visit (``visitor_active``) covers them; a
  registered visit does not excuse a last passage outward.

State, keyed by ``<person key>|<compound id>`` (the worker routes by the person
key, which prefixes it): the person's latest passages at that compound's
gates, ordered by event time, at most ``HISTORY`` of them. Out of order: every
event is judged against the passages at or before its own event time, so a
late sighting sees the history as it was then; a late passage is filed in
order and does not revisit findings already made. A late sighting older than
the whole bounded history cannot be judged and is let through.

Late uploads: terminals upload every minute or so, so a person's inward
passage at the gate often arrives after the inner-point scan made seconds
later. Judged at once, three in four of a simulated day's bypass alerts were
of this kind, each opened and resolved a minute later. So a suspicious
sighting or exit is *held* (``confirm_after``, default 3 minutes of event
time): it is remembered with its event, and ``confirm`` judges it again once
the stream's watermark has passed it by that much, against the passages
filed by then; only if they still do not account for it does it become an
alert. A held item's key is listed in a pending index (``index_of`` names
it: the worker keeps one per partition, so the judge can find what is due on
the partition it is processing). An inward passage later still, past the
hold, resolves the alert ("entry uploaded late"); the fingerprint's place is
the compound (``scope="compound"``), so the gate passage resolves the alert
the inner point opened. ``confirm_after`` zero judges at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas import Direction, EnrichedEvent, Severity, SubjectKind
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition, StateSlot
from streams.rules.params import Duration, PositiveDuration, RuleParams
from streams.rules.state import State
from streams.trusted import Builder

_CST = timezone(timedelta(hours=8))
HISTORY: Final = 8
"""Passages kept per person and compound: enough to place a late event among a day's comings and goings."""


class GatePassage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    direction: Direction
    at: AwareDatetime
    event_id: str


class Flagged(BaseModel):
    """A suspicious sighting or exit: held (with its event) until confirmed, then alerted (event dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    event_id: str
    held: EnrichedEvent | None = None


class PendingCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due: AwareDatetime
    key: str


class PendingChecks(BaseModel):
    """The held items of one index (a partition, in the worker), as state keys and when they are due."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[PendingCheck, ...] = ()


class GateHistory(BaseModel):
    """A person's latest passages at one compound's gates, oldest first, and what was flagged since."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passages: tuple[GatePassage, ...] = ()
    flagged: tuple[Flagged, ...] = ()


_EMPTY: Final = GateHistory()
"""The history of a person never seen at a compound's gates (values are frozen: one instance serves all)."""
_PASSAGE: Final = Builder(GatePassage)
_HISTORY: Final = Builder(GateHistory)
"""State values from the validated event and state (``streams.trusted``): not validated again."""


class BypassEntry(BaseRule):
    rule_id = "bypass_entry"
    version = 2

    def __init__(
        self,
        *,
        control_period: timedelta = timedelta(hours=12),
        confirm_after: timedelta = timedelta(0),
        state: State[GateHistory],
        pending: State[PendingChecks] | None = None,
        index_of: Callable[[str], str] = lambda person_key: "",
    ) -> None:
        """``index_of(person key)`` names the pending index a held item of that person goes to."""
        if confirm_after and pending is None:
            raise ValueError("holding suspicious sightings (confirm_after) needs a pending index")
        self.control_period = control_period
        self.confirm_after = confirm_after
        self._state = state
        self._pending = pending
        self._index_of = index_of

    @staticmethod
    def state_key(event: EnrichedEvent) -> str:
        return f"{event.subject_key}|{event.place.compound_id}"

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON or not event.subject_key or not event.place.compound_id:
            return None
        direction = _gate_direction(event)
        sighting = event.event_type == "sighting" or event.checkpoint_kind == "inner"
        if direction is None and not sighting:
            return None
        key = self.state_key(event)
        history = self._state.get(key) or _EMPTY
        finding = None
        if event.compound_closed and direction is not Direction.IN:
            finding = self._judge(event, history)
        flagged = history.flagged
        if finding is not None:
            held = event if self.confirm_after else None
            flagged = (*flagged, Flagged(at=event.event_time, event_id=event.event_id, held=held))[-HISTORY:]
            if held is not None:
                self._hold(event, key)
                finding = None
        elif direction is Direction.IN:
            explained = [f for f in flagged if self._explains(event, f, history)]
            if explained:
                flagged = tuple(f for f in flagged if f not in explained)
                alerted = [f for f in explained if f.held is None]  # a held one goes quietly
                finding = self._retract(event, alerted) if alerted else None
        if direction is not None:
            passage = _PASSAGE(direction=direction, at=event.event_time, event_id=event.event_id)
            # one new state value per write (was a copy per change: a third of the rule's time)
            self._state.put(key, _HISTORY(passages=self._file(history.passages, passage), flagged=flagged))
        elif flagged != history.flagged:
            self._state.put(key, _HISTORY(passages=history.passages, flagged=flagged))
        return finding

    def _hold(self, event: EnrichedEvent, key: str) -> None:
        assert self._pending is not None  # noqa: S101 - checked in __init__
        index = self._index_of(event.subject_key)
        checks = self._pending.get(index) or PendingChecks()
        due = PendingCheck(due=event.event_time + self.confirm_after, key=key)
        self._pending.put(index, checks.model_copy(update={"items": (*checks.items, due)}))

    def confirm(self, now: datetime, index: str = "") -> list[tuple[Finding, EnrichedEvent]]:
        """Judge again every held item of ``index`` due by the watermark ``now``; the alerts, with their events.

        Call it where ``index``'s state lives (the worker: while processing a
        record of that partition). A held item that the passages filed since
        account for is dropped without an alert.
        """
        if self._pending is None:
            return []
        checks = self._pending.get(index)
        if checks is None or not any(c.due <= now for c in checks.items):
            return []
        out: list[tuple[Finding, EnrichedEvent]] = []
        for key in dict.fromkeys(c.key for c in checks.items if c.due <= now):
            history = self._state.get(key)
            if history is not None:
                flagged, found = self._confirm_key(now, history)
                out.extend(found)
                if flagged != history.flagged:
                    self._state.put(key, history.model_copy(update={"flagged": flagged}))
        rest = tuple(c for c in checks.items if c.due > now)
        if rest:
            self._pending.put(index, PendingChecks(items=rest))
        else:
            self._pending.delete(index)
        return out

    def _confirm_key(
        self, now: datetime, history: GateHistory
    ) -> tuple[tuple[Flagged, ...], list[tuple[Finding, EnrichedEvent]]]:
        kept: list[Flagged] = []
        found: list[tuple[Finding, EnrichedEvent]] = []
        for flag in history.flagged:
            event = flag.held
            if event is None or flag.at + self.confirm_after > now:
                kept.append(flag)
                continue
            finding = self._judge(event, history)
            if finding is not None:
                kept.append(flag.model_copy(update={"held": None}))
                found.append((finding, event))
        return tuple(kept), found

    def _judge(self, event: EnrichedEvent, history: GateHistory) -> Finding | None:
        """A sighting or an exit against the passages filed before its own time."""
        before = [p for p in history.passages if p.at <= event.event_time and p.event_id != event.event_id]
        if not before and len(history.passages) >= HISTORY:
            return None  # older than all remembered: cannot tell, let through
        last = before[-1] if before else None
        if _gate_direction(event) is Direction.OUT:
            return self._judge_exit(event, last)
        return self._judge_sighting(event, last)

    def _explains(self, entry: EnrichedEvent, flag: Flagged, history: GateHistory) -> bool:
        """Whether a (late) inward passage accounts for an earlier flag: before it, nothing out in between."""
        if not entry.event_time <= flag.at <= entry.event_time + self.control_period:
            return False
        return not any(p.direction is Direction.OUT and entry.event_time <= p.at <= flag.at for p in history.passages)

    def _retract(self, entry: EnrichedEvent, explained: list[Flagged]) -> Finding:
        local = entry.event_time.astimezone(_CST)
        return replace(
            self.finding(
                Severity.INFO,
                f"进门记录迟到上传：{local:%H:%M} 已经卡口进入，排除翻墙",
                f"Entry at {local:%H:%M} through the gate was uploaded late: not a bypass",
            ),
            resolves=True,
            scope="compound",
            related_event_ids=tuple(f.event_id for f in explained),  # the alert book resolves what names them
        )

    def _covered(self, event: EnrichedEvent, last: GatePassage | None) -> bool:
        """Whether the last passage (or its absence) accounts for the person being inside."""
        resident = bool(event.home_compound_id) and event.home_compound_id == event.place.compound_id
        if last is None:
            return resident or event.visitor_active
        if last.direction is Direction.OUT:
            return False
        return resident or event.visitor_active or event.event_time - last.at <= self.control_period

    def _judge_sighting(self, event: EnrichedEvent, last: GatePassage | None) -> Finding | None:
        if self._covered(event, last):
            return None
        where = _last_words(last, event.event_time - last.at if last else None)
        return self._flag(
            last,
            f"封闭小区内发现人员，{where[0]}（疑似翻墙进入）",
            f"Person seen inside the closed compound; {where[1]} (suspected entry over the wall)",
            "locate the person; check how they got in and the dwelling they are at",
        )

    def _judge_exit(self, event: EnrichedEvent, last: GatePassage | None) -> Finding | None:
        if self._covered(event, last):
            return None
        where = _last_words(last, event.event_time - last.at if last else None)
        return self._flag(
            last,
            f"出门但无进门记录，{where[0]}（疑似翻墙进入）",
            f"Exit with no matching entry; {where[1]} (suspected entry over the wall)",
            "stop and question the person; check where in the compound they stayed",
        )

    def _flag(self, last: GatePassage | None, zh: str, en: str, action: str) -> Finding:
        finding = self.finding(Severity.HIGH, zh, en, action)
        return replace(finding, related_event_ids=(last.event_id,) if last else (), scope="compound")

    @staticmethod
    def _file(passages: tuple[GatePassage, ...], passage: GatePassage) -> tuple[GatePassage, ...]:
        """The passages with ``passage`` filed by event time, the latest ``HISTORY`` kept."""
        event_id = passage.event_id
        for p in passages:
            if p.event_id == event_id:
                return passages  # a replayed event: already filed
        if not passages or passages[-1].at <= passage.at:  # in order, the usual case: no sort
            return (*passages, passage)[-HISTORY:]
        return tuple(sorted((*passages, passage), key=lambda p: p.at)[-HISTORY:])


def _gate_direction(event: EnrichedEvent) -> Direction | None:
    """The direction of a passage through a gate of the compound, None if the event is none."""
    if event.checkpoint_kind != "gate":
        return None
    if event.event_type == "passage":
        return event.direction
    if event.event_type == "qr_scan":
        return Direction.IN
    return None


def _last_words(last: GatePassage | None, age: timedelta | None) -> tuple[str, str]:
    if last is None or age is None:
        return "卡口无进出记录", "no passage at its gates on record"
    minutes = int(age / timedelta(minutes=1))
    zh_age, en_age = f"{minutes // 60}小时{minutes % 60}分钟前", f"{minutes // 60} h {minutes % 60} min before"
    if last.direction is Direction.OUT:
        return f"最后一次经卡口为出门（{zh_age}）", f"last passage at its gates was outward, {en_age}"
    return f"最后一次进门在{zh_age}，超出管控时限", f"last entry at its gates was {en_age}, past the control period"


class BypassEntryParams(RuleParams):
    control_period: PositiveDuration = Field(
        default=timedelta(hours=12),
        description="How far back an inward passage (or, for an exit, an entry) must be to explain a sighting.",
    )
    confirm_after: Duration = Field(
        default=timedelta(minutes=3),
        description="How long (event time) a suspicious sighting waits for a late-uploaded gate passage before it "
        "becomes an alert; 0s alerts at once.",
    )


DEFINITION: Final = RuleDefinition(
    rule=BypassEntry, params=BypassEntryParams, severity=Severity.HIGH, judged="person",
    states={
        "bypass_entry": StateSlot(GateHistory),
        # one index per partition (the key is the partition): what this partition holds for confirmation
        "bypass_pending": StateSlot(PendingChecks, bundle=lambda key: "pending|" + key),
    },
    build=lambda p, needs: BypassEntry(
        control_period=p.control_period, confirm_after=p.confirm_after, state=needs.states("bypass_entry"),
        pending=needs.states("bypass_pending"), index_of=needs.index_of),
)
