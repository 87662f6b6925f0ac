"""Late-night entry: a non-resident entering between ``start`` and ``end`` local time (+08:00).

The wall climbers of Dingyang came in at 22:00 on the Lantern Festival night;
late entries by people the compound does not know are what the guards watch.
A non-resident is anyone not registered at the compound (for a QR scan, the
community) where they enter, visitors with a registered visit included: the
alert says so, and the guard decides. The window may cross midnight
(22:00-06:00); ``start == end`` is an empty window, which switches the rule off.
"""

from __future__ import annotations

from datetime import time, timedelta, timezone
from typing import Final

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from schemas import Direction, EnrichedEvent, Severity, SubjectKind
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams, TimeOfDay
from streams.rules.unregistered import registered_here

CHINA: Final = timezone(timedelta(hours=8))


def in_window(at: time, start: time, end: time) -> bool:
    """``start`` inclusive, ``end`` exclusive; a window with start after end runs across midnight."""
    if start <= end:
        return start <= at < end
    return at >= start or at < end


class LateNightEntry(BaseRule):
    rule_id = "late_night_entry"
    version = 1

    def __init__(self, *, start: time = time(22), end: time = time(6)) -> None:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times (+08:00) without a time zone")
        self.start = start
        self.end = end

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON:
            return None
        entering = event.event_type == "qr_scan" or (event.event_type == "passage" and event.direction is Direction.IN)
        if not entering or registered_here(event):
            return None
        local = event.event_time.astimezone(CHINA).time().replace(tzinfo=None)
        if not in_window(local, self.start, self.end):
            return None
        window = f"{self.start:%H:%M}-{self.end:%H:%M}"
        visit_zh = "（已登记来访）" if event.visitor_active else ""
        visit_en = " (registered visitor)" if event.visitor_active else ""
        return self.finding(
            Severity.WARNING,
            f"非本小区人员夜间进入（{local:%H:%M}，时段 {window}）{visit_zh}",
            f"Non-resident entered at night ({local:%H:%M}, window {window}){visit_en}",
            "verify identity, purpose and host dwelling; tell the grid",
        )


class LateNightEntryParams(RuleParams):
    start: TimeOfDay = Field(default=time(22, 0), description="Local time the night begins.")
    end: TimeOfDay = Field(default=time(6, 0), description="Local time it ends; before start means past midnight.")

    @model_validator(mode="after")
    def _not_empty(self) -> LateNightEntryParams:
        if self.start == self.end:
            raise PydanticCustomError("night_window", "start and end are equal: the night would be empty")
        return self


DEFINITION: Final = RuleDefinition(
    rule=LateNightEntry, params=LateNightEntryParams, severity=Severity.WARNING, judged="event",
    build=lambda p, needs: LateNightEntry(start=p.start, end=p.end),
)
