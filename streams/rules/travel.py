"""Impossible travel: one person's code at two checkpoints no one could travel between in time.

Checkpoint locations are master data (enrichment puts them on the event as
``lat``/``lon``). Two findings come from the same comparison of an event with
the person's previous located event:

* faster than ``max_speed_kmh`` and both within ``same_time_window`` of each
  other: the person was at two places at once, so the code is shared or
  cloned (critical: the identity check at the gate is not worth anything);
* faster than ``max_speed_kmh`` but further apart in time: an impossible
  journey (high), a lent card or a guard typing the wrong number.

Both need the checkpoints at least ``min_distance_m`` apart: two gates of one
compound, or a coordinate entered a little off, are no journey, and a speed
over a few metres in the same second is meaningless. Being within the same
time window is not enough by itself: a cyclist covers 300 m in two minutes;
what marks a cloned code is a distance nobody covers in that time.

State, keyed by the person key: the person's latest located event by event
time. Out of order: an event is compared with the stored one symmetrically
(the absolute time difference), and the stored one is replaced only by a
later event, so a late event is judged against its nearest known neighbour in
time and does not roll the state back.

The fingerprint has no place (``scope="subject"``): which of the two events
reports the journey depends on the order their uploads arrive in, which a
replay after a crash does not keep, so a fingerprint by checkpoint made the
same journey two different alerts (found by ``gridwatch chaos worker-kill``).
The alert is placed where the reporting event was; its text names both
checkpoints in event-time order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas import EnrichedEvent, Severity
from streams.geo import distance_m
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition, StateSlot
from streams.rules.params import PositiveDuration, RuleParams
from streams.rules.state import State
from streams.trusted import Builder


class LastFix(BaseModel):
    """Where and when the person was last seen at a located checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float
    lon: float
    checkpoint_id: str
    at: AwareDatetime
    event_id: str


_FIX: Final = Builder(LastFix)
"""From the validated event (``streams.trusted``): not validated again."""


class ImpossibleTravel(BaseRule):
    rule_id = "impossible_travel"
    version = 2

    def __init__(
        self,
        *,
        max_speed_kmh: float = 60,
        same_time_window: timedelta = timedelta(minutes=2),
        min_distance_m: float = 300,
        state: State[LastFix],
    ) -> None:
        self.max_speed_kmh = max_speed_kmh
        self.same_time_window = same_time_window
        self.min_distance_m = min_distance_m
        self._state = state

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        key = event.subject_key
        if not key or event.lat is None or event.lon is None:
            return None
        stored = self._state.get(key)
        if stored is None or event.event_time >= stored.at:
            self._state.put(
                key,
                _FIX(
                    lat=event.lat,
                    lon=event.lon,
                    checkpoint_id=event.place.checkpoint_id,
                    at=event.event_time,
                    event_id=event.event_id,
                ),
            )
        if stored is None or stored.event_id == event.event_id:
            return None
        return self._judge(event, event.lat, event.lon, stored)

    def _judge(self, event: EnrichedEvent, lat: float, lon: float, stored: LastFix) -> Finding | None:
        metres = distance_m(stored.lat, stored.lon, lat, lon)
        if metres < self.min_distance_m:
            return None
        gap = abs(event.event_time - stored.at)
        hours = gap / timedelta(hours=1)
        km = metres / 1000
        if hours > 0 and km / hours <= self.max_speed_kmh:
            return None
        other, here = stored.checkpoint_id or "?", event.place.checkpoint_id or "?"
        if event.event_time < stored.at:  # named in event-time order, whichever arrived first
            other, here = here, other
        seconds = int(gap.total_seconds())
        if gap <= self.same_time_window:
            finding = self.finding(
                Severity.CRITICAL,
                f"同一身份 {seconds} 秒内出现在相距 {km:.1f} 公里的两个卡点（{other}、{here}）：疑似借用或克隆健康码",
                f"Same person at two places at once: checkpoints {other} and {here}, {km:.1f} km apart, "
                f"{seconds} s apart (shared or cloned code)",
                "hold the person; check the card against the face; block the code pending review",
            )
        else:
            speed = km / hours
            minutes = seconds // 60
            finding = self.finding(
                Severity.HIGH,
                f"行程不可能：{minutes} 分钟内出现在相距 {km:.1f} 公里的两个卡点（{other}、{here}），"
                f"时速约 {speed:.0f} 公里（上限 {self.max_speed_kmh:.0f}）",
                f"Impossible travel: checkpoints {other} and {here}, {km:.1f} km apart in {minutes} min "
                f"({speed:.0f} km/h, limit {self.max_speed_kmh:.0f})",
                "verify the person's identity against the card; ask who else uses the code",
            )
        # one condition of the person, whichever of the two checkpoints reports it: the order the two uploads
        # arrive in decides that, and a replay after a crash may take them the other way round
        return replace(finding, related_event_ids=(stored.event_id,), scope="subject")


class ImpossibleTravelParams(RuleParams):
    max_speed_kmh: float = Field(default=60.0, gt=0, le=1_000, description="Faster than this between two places.")
    same_time_window: PositiveDuration = Field(
        default=timedelta(minutes=2), description="Two places within it count as 'at once': a shared or cloned code."
    )
    min_distance_m: float = Field(
        default=300.0, ge=0, description="Places closer than this are never judged (GPS and walking noise)."
    )


DEFINITION: Final = RuleDefinition(
    rule=ImpossibleTravel, params=ImpossibleTravelParams, severity=Severity.HIGH, judged="person",
    states={"impossible_travel": StateSlot(LastFix)},
    build=lambda p, needs: ImpossibleTravel(
        max_speed_kmh=p.max_speed_kmh, same_time_window=p.same_time_window, min_distance_m=p.min_distance_m,
        state=needs.states("impossible_travel")),
)
