"""Fever at the checkpoint (测温): the guard's reading at or above the threshold.

Guards re-measure a high reading after a few minutes (a forehead thermometer
in the winter wind, a person who just ran): a normal re-measurement shortly
after is shown on the same alert, as a finding that resolves it, so the grid
sees "37.6, re-measured 36.6" rather than an open fever alert.

State, keyed by the person key (the worker routes a person's events to one
partition): the person's latest fever reading by event time, removed once a
normal re-measurement resolved it. Out of order: a normal reading resolves only
a fever reading at or before its own event time (a reading taken before the
fever is no re-measurement of it); a late fever reading still fires, but does
not replace a later stored one. Late events within the stream's lateness are
judged like any other.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas import EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition, StateSlot
from streams.rules.params import PositiveDuration, RuleParams
from streams.rules.state import State


class FeverReading(BaseModel):
    """The latest fever reading of a person, waiting for a re-measurement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature_c: float
    at: AwareDatetime
    event_id: str


class Fever(BaseRule):
    rule_id = "fever"
    version = 2

    def __init__(
        self,
        *,
        threshold_c: float = 37.3,
        remeasure_window: timedelta = timedelta(minutes=10),
        state: State[FeverReading],
    ) -> None:
        self.threshold_c = threshold_c
        self.remeasure_window = remeasure_window
        self._state = state

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        t = event.temperature_c
        if t is None:
            return None
        key = event.subject_key
        stored = self._state.get(key) if key else None
        if t >= self.threshold_c:
            return self._fever(event, t, key, stored)
        if stored is None:
            return None
        since = event.event_time - stored.at
        if since < timedelta(0):
            return None
        self._state.delete(key)  # resolved, or too old to be re-measured now
        if since > self.remeasure_window:
            return None
        minutes = max(1, math.ceil(since / timedelta(minutes=1)))
        unit = "minute" if minutes == 1 else "minutes"
        finding = self.finding(
            Severity.HIGH,
            f"体温 {stored.temperature_c:.1f}°C，{minutes} 分钟内复测正常：{t:.1f}°C",
            f"Fever {stored.temperature_c:.1f} °C, re-measured normal: {t:.1f} °C within {minutes} {unit}",
            "no action; keep watching the person's later readings",
        )
        return replace(finding, related_event_ids=(stored.event_id,), resolves=True)

    def _fever(self, event: EnrichedEvent, t: float, key: str, stored: FeverReading | None) -> Finding:
        repeat = stored is not None and abs(event.event_time - stored.at) <= self.remeasure_window
        if key and (stored is None or event.event_time >= stored.at):
            self._state.put(key, FeverReading(temperature_c=t, at=event.event_time, event_id=event.event_id))
        finding = self.finding(
            Severity.HIGH,
            f"体温异常 {t:.1f}°C（阈值 {self.threshold_c:.1f}°C）" + ("，复测仍高" if repeat else ""),
            f"Fever {t:.1f} °C (threshold {self.threshold_c:.1f} °C)" + ("; re-measured still high" if repeat else ""),
            "re-measure; refer to fever clinic",
        )
        if repeat and stored is not None:
            return replace(finding, related_event_ids=(stored.event_id,))
        return finding


class FeverParams(RuleParams):
    threshold_c: float = Field(default=37.3, ge=35.0, le=42.0, description="At or above this reading, °C.")
    remeasure_window: PositiveDuration = Field(
        default=timedelta(minutes=10), description="A normal re-measurement within it is shown on the same alert."
    )


DEFINITION: Final = RuleDefinition(
    rule=Fever, params=FeverParams, severity=Severity.HIGH, judged="person",
    states={"fever": StateSlot(FeverReading)},
    build=lambda p, needs: Fever(
        threshold_c=p.threshold_c, remeasure_window=p.remeasure_window, state=needs.states("fever")),
)
