"""A dwelling holding more people than it has registered (the Lantern Festival flat: five people).

Who counts as seen at a dwelling within the window:

* a person found there on a household visit (the event's ``dwelling_id``);
* a guard-registered visitor, at the dwelling they said they visit
  (``visitor_host_dwelling_id``);
* a resident passing inward at their own compound, at their home dwelling.

The registered count comes with the event (``dwelling_registered``). A
visitor's event carries their own home's count, not the host's, so the rule
remembers the last count it was told for the dwelling and uses that; until a
count is known the persons are remembered but nothing is judged.

It fires once per crossing of ``registered + margin``, and again only when the
count rises further (the alert book counts repeats); when the window empties
below the limit, the next crossing fires anew.

State, keyed by the dwelling id (the worker routes these events by dwelling,
not by person): the distinct person keys seen with their latest event time,
pruned to the window before the newest event time seen there and to at most
``MAX_SEEN`` persons; the last known registered count; the count last
reported. Out of order: a late event counts if it falls inside the window of
the newest event time seen at the dwelling, and a person's time only moves
forward; a late event older than the window is ignored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas import Direction, EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition, StateSlot
from streams.rules.params import PositiveDuration, RuleParams
from streams.rules.state import State
from streams.trusted import Builder

MAX_SEEN: Final = 64
"""Persons remembered per dwelling: far above any limit worth judging, and bounded."""


class SeenPerson(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    at: AwareDatetime
    event_id: str


class DwellingSeen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seen: tuple[SeenPerson, ...] = ()
    registered: int | None = None
    reported: int = 0


_NOBODY: Final = DwellingSeen()
_PERSON: Final = Builder(SeenPerson)
_SEEN: Final = Builder(DwellingSeen)
"""From the validated event and state (``streams.trusted``): not validated again."""


def dwelling_of(event: EnrichedEvent) -> tuple[str, int | None] | None:
    """The dwelling a person event places them at, with its registered count if the event knows it.

    The worker routes on the first element, so it calls this too.
    """
    if not event.subject_key:
        return None
    if event.dwelling_id:
        return event.dwelling_id, event.dwelling_registered
    if event.visitor_active and event.visitor_host_dwelling_id:
        return event.visitor_host_dwelling_id, None
    if (
        event.event_type == "passage"
        and event.direction is Direction.IN
        and event.home_dwelling_id
        and event.home_compound_id
        and event.home_compound_id == event.place.compound_id
    ):
        return event.home_dwelling_id, event.dwelling_registered
    return None


class DwellingOvercrowded(BaseRule):
    rule_id = "dwelling_overcrowded"
    version = 1

    def __init__(self, *, window: timedelta = timedelta(hours=6), margin: int = 2, state: State[DwellingSeen]) -> None:
        self.window = window
        self.margin = margin
        self._state = state

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        placed = dwelling_of(event)
        if placed is None:
            return None
        dwelling, told = placed
        before = self._state.get(dwelling) or _NOBODY
        registered = told if told is not None else before.registered
        seen = self._seen(before.seen, _PERSON(key=event.subject_key, at=event.event_time, event_id=event.event_id))
        count = len(seen)
        reported = before.reported
        finding = None
        if registered is not None:
            limit = registered + self.margin
            if count <= limit:
                reported = 0
            elif count > reported:
                reported = count
                finding = self._finding(dwelling, count, registered, seen, event.event_id)
        self._state.put(dwelling, _SEEN(seen=seen, registered=registered, reported=reported))
        return finding

    def _seen(self, seen: tuple[SeenPerson, ...], person: SeenPerson) -> tuple[SeenPerson, ...]:
        latest: dict[str, SeenPerson] = {p.key: p for p in seen}
        known = latest.get(person.key)
        if known is None or person.at > known.at:
            latest[person.key] = person
        newest = max(p.at for p in latest.values())
        kept = sorted((p for p in latest.values() if p.at >= newest - self.window), key=lambda p: (p.at, p.key))
        return tuple(kept[-MAX_SEEN:])

    def _finding(
        self, dwelling: str, count: int, registered: int, seen: tuple[SeenPerson, ...], event_id: str
    ) -> Finding:
        hours = self.window / timedelta(hours=1)
        finding = self.finding(
            Severity.WARNING,
            f"住户 {dwelling} {hours:g} 小时内出现 {count} 人，登记仅 {registered} 人",
            f"Dwelling {dwelling}: {count} distinct persons seen within {hours:g} h, {registered} registered",
            "visit the dwelling with the grid worker; verify and register everyone staying there",
        )
        related = tuple(p.event_id for p in seen if p.event_id != event_id)
        return replace(finding, subject=f"dwelling:{dwelling}", related_event_ids=related)


class DwellingOvercrowdedParams(RuleParams):
    window: PositiveDuration = Field(default=timedelta(hours=6), description="People counted in a dwelling over it.")
    margin: int = Field(default=2, ge=0, description="Persons above the registered count that are tolerated.")


DEFINITION: Final = RuleDefinition(
    rule=DwellingOvercrowded, params=DwellingOvercrowdedParams, severity=Severity.WARNING, judged="dwelling",
    states={"dwelling_overcrowded": StateSlot(DwellingSeen)},
    build=lambda p, needs: DwellingOvercrowded(
        window=p.window, margin=p.margin, state=needs.states("dwelling_overcrowded")),
)
