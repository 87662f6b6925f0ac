"""The vocabulary of rule parameters: durations with a unit, local times of day, and the base model.

Each rule declares its own parameters beside its logic (``streams/rules/<rule>.py``); the
catalogue (``streams.catalogue``) reads the values from YAML into them. Both need these types,
so they live here, below both.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic_core import PydanticCustomError

# durations and times of day -------------------------------------------------

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def parse_duration(value: object) -> timedelta:
    """``"12h"``, ``"10m"``, ``"90s"``, ``"1h30m"``, ``"1d"`` -> timedelta.

    A bare number is refused: in a file that people edit, "10" could mean
    seconds or minutes, and guessing wrong moves a window by a factor of 60.
    """
    m = _DURATION.fullmatch(value.replace(" ", "")) if isinstance(value, str) else None
    if isinstance(value, timedelta):
        td = value
    elif m is not None and any(m.groupdict().values()):
        td = timedelta(seconds=sum(int(m[unit] or 0) * secs for unit, secs in _UNITS))
    else:
        raise PydanticCustomError(
            "duration", "a duration with a unit is expected, e.g. 90s, 10m, 12h, 1d or 1h30m"
        )
    if td < timedelta(0) or td.microseconds:
        raise PydanticCustomError("duration", "a duration must be a whole, non-negative number of seconds")
    return td


def format_duration(td: timedelta) -> str:
    """The inverse of ``parse_duration``, so the JSON catalogue reads like the file."""
    rest = int(td.total_seconds())
    parts = []
    for unit, secs in _UNITS:
        n, rest = divmod(rest, secs)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def _parse_time_of_day(value: object) -> object:
    # pydantic would read a number as seconds after midnight: 2200 would become 00:36:40
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        return value.strip()
    raise PydanticCustomError("time_of_day", "a local time of day is expected as text, e.g. \"22:00\"")


def _format_time_of_day(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, when_used="json")]
"""A window or period; in the file a number with a unit (``"10m"``)."""

def _positive(td: timedelta) -> timedelta:
    if not td:
        raise PydanticCustomError("duration", "a window or period must be longer than 0s")
    return td


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]

TimeOfDay = Annotated[
    time, BeforeValidator(_parse_time_of_day), PlainSerializer(_format_time_of_day, when_used="json")
]
"""A local wall-clock time (``"22:00"``) in the catalogue's timezone."""


class RuleParams(BaseModel):
    """Parameters of one rule; each rule has its own subclass, unknown names are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


__all__ = ["Duration", "PositiveDuration", "RuleParams", "TimeOfDay", "format_duration", "parse_duration"]
