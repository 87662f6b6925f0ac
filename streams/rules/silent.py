"""A checkpoint that has gone quiet in its opening hours: a terminal offline or a post left unmanned.

Silence is the absence of events, so no event can trigger it: the worker
calls ``tick(now, checkpoints)`` with the stream's watermark (event time, not
the wall clock, so a replay or a lagging partition does not page anyone) and
``evaluate`` on every event to record that the checkpoint is alive.

Silence counts only open time: the clock starts at the checkpoint's last event
or at the start of its current opening period, whichever is later, so a gate
that closed at 22:00 is not reported at 06:01 for eight silent hours. Opening
hours are local time (+08:00); ``closes`` before ``opens`` runs across
midnight; no hours (or equal ones) mean always open. A checkpoint never heard
from is measured from the first tick that saw it in master data.

It reports once per silence. The next event at the checkpoint with an event
time at or after the report (the tick's ``now``) ends the silence with a
finding that resolves the alert. A terminal back online uploads its backlog
first: those older events move the last event time on but do not resolve,
because the alert book ignores resolving evidence older than the alert (by
event time the silence was reported after it); the first live event does.

Tick findings have no event: the caller builds the alert's place (grid,
compound) from the ``Checkpoint`` named by the finding's subject
``checkpoint:<id>``. Perimeter reports name a nearby checkpoint but are not
its own reporting, and events at checkpoints unknown to master data are not
tracked.

State, keyed by the checkpoint id (the worker routes this rule's events by
checkpoint, and each worker ticks only the checkpoints of its partitions): the
latest event time seen there, whether it was ever heard from, and when the
current silence was reported (None: not reported). A late event never moves
the time back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas import Checkpoint, EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition, StateSlot
from streams.rules.params import PositiveDuration, RuleParams
from streams.rules.state import State
from streams.trusted import Builder

LOCAL_TZ: Final = timezone(timedelta(hours=8))
"""Opening hours are China Standard Time, whatever offset events carry."""


class CheckpointHeard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    last_at: AwareDatetime
    heard: bool = True
    reported_at: AwareDatetime | None = None


_HEARD: Final = Builder(CheckpointHeard)
"""From the validated event and state (``streams.trusted``): not validated again."""


def open_since(now: datetime, opens: time | None, closes: time | None) -> datetime | None:
    """When the opening period that contains ``now`` began; None if closed at ``now``.

    Always open gives ``datetime.min`` (in UTC), so the last event decides.
    """
    if opens is None or closes is None or opens == closes:
        return datetime.min.replace(tzinfo=UTC)
    opens, closes = opens.replace(tzinfo=None), closes.replace(tzinfo=None)  # local time by contract
    local = now.astimezone(LOCAL_TZ)
    tod = local.time()
    today = datetime.combine(local.date(), opens, LOCAL_TZ)
    if opens < closes:
        return today if opens <= tod < closes else None
    if tod >= opens:
        return today
    if tod < closes:
        return today - timedelta(days=1)
    return None


class SilentCheckpoint(BaseRule):
    rule_id = "silent_checkpoint"
    version = 1

    def __init__(self, *, silence: timedelta = timedelta(minutes=60), state: State[CheckpointHeard]) -> None:
        self.silence = silence
        self._state = state

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        cp = event.place.checkpoint_id
        if not cp or event.event_type == "perimeter_report" or "checkpoint" in event.misses:
            return None
        stored = self._state.get(cp)
        if stored is None:
            self._state.put(cp, _HEARD(last_at=event.event_time))
            return None
        last = max(stored.last_at, event.event_time)
        if stored.reported_at is None or event.event_time < stored.reported_at:
            if last != stored.last_at or not stored.heard:
                self._state.put(cp, _HEARD(last_at=last, reported_at=stored.reported_at))
            return None
        self._state.put(cp, _HEARD(last_at=last))
        finding = self.finding(
            Severity.HIGH,
            f"卡点 {cp} 恢复上报",
            f"Checkpoint {cp} reporting again",
            "no action; check the events it uploads late",
        )
        return replace(finding, subject=f"checkpoint:{cp}", resolves=True)

    def tick(self, now: datetime, checkpoints: Iterable[Checkpoint]) -> list[Finding]:
        findings: list[Finding] = []
        for cp in checkpoints:
            stored = self._state.get(cp.checkpoint_id)
            if stored is None:
                self._state.put(cp.checkpoint_id, CheckpointHeard(last_at=now, heard=False))
                continue
            if stored.reported_at is not None:
                continue
            since = open_since(now, cp.opens, cp.closes)
            if since is None:
                continue
            quiet = now - max(stored.last_at, since)
            if quiet <= self.silence:
                continue
            self._state.put(cp.checkpoint_id, stored.model_copy(update={"reported_at": now}))
            findings.append(self._silent(cp, quiet, stored.heard))
        return findings

    def _silent(self, cp: Checkpoint, quiet: timedelta, heard: bool) -> Finding:
        minutes = int(quiet / timedelta(minutes=1))
        since_zh, since_en = ("", "") if heard else ("（监测以来从未上报）", " (never heard from since watched)")
        finding = self.finding(
            Severity.HIGH,
            f"卡点 {cp.name}（{cp.checkpoint_id}）开放时间内已 {minutes} 分钟无任何记录{since_zh}",
            f"Checkpoint {cp.checkpoint_id} has reported nothing for {minutes} min in its opening hours{since_en}",
            "call the post; check the terminal is online and the post is manned",
        )
        return replace(finding, subject=f"checkpoint:{cp.checkpoint_id}")


class SilentCheckpointParams(RuleParams):
    silence: PositiveDuration = Field(
        default=timedelta(minutes=60), description="No event from an open checkpoint for this long."
    )


DEFINITION: Final = RuleDefinition(
    rule=SilentCheckpoint, params=SilentCheckpointParams, severity=Severity.HIGH, judged="checkpoint",
    states={"silent_checkpoint": StateSlot(CheckpointHeard)},
    build=lambda p, needs: SilentCheckpoint(silence=p.silence, state=needs.states("silent_checkpoint")),
)
