"""What a resident ID number (GB 11643) tells: validity and issuing division.

The first six digits are the GB/T 2260 division of the card holder's household
registration when the number was issued. The checksum (ISO 7064 MOD 11-2) and
birth-date parsing come from python-stdnum rather than code of ours.

``problems`` judges the division differently from stdnum: stdnum requires the
code to have been in use in the birth year, but a number is issued when it is
registered, often years after birth (the first cards came in 1984-85), so
stdnum rejects e.g. every Changshan card 330822 of someone born before 1985.
Here a division is wrong only if the code never existed (``streams.divisions``).
Nothing here puts the number into an exception or a log.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from stdnum.cn import ric

from streams import divisions

REASONS: Final = ("structure", "birth_date", "check_digit", "division")
"""Every reason ``problems`` may give, in the order it gives them."""

MAX_AGE_YEARS: Final = 120

_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]")


def division_of(id_number: str) -> str:
    """The issuing division code; an inference about origin, not a fact."""
    return id_number[:6]


def is_valid(id_number: str) -> bool:
    """stdnum's own verdict, stricter than ``problems`` about the division (see the module docstring).

    The simulator uses it so that the numbers it makes pass every checker.
    """
    return bool(ric.is_valid(id_number))


def with_check_digit(first17: str) -> str:
    """Complete 17 digits to a valid 18-character number (used by the simulator)."""
    # calc_check_digit reads the first 17 characters of a full-length number
    return first17 + ric.calc_check_digit(first17 + "0")


def problems(id_number: str, *, at: date) -> tuple[str, ...]:
    """Why ``id_number`` cannot be a real number on ``at`` (the event's date in China); () if it can.

    "structure" (not 17 digits and a digit or X) hides the other reasons, which
    cannot be judged then. Otherwise each of "birth_date" (no such date, after
    ``at``, or more than 120 years before it), "check_digit" and "division"
    (a code that never existed) is reported independently.
    """
    # what the input contract lets through is compact already (upper case, no separators): skip stdnum's clean-up
    number = id_number
    if not _SHAPE.fullmatch(number):
        number = ric.compact(id_number)
        if not _SHAPE.fullmatch(number):
            return ("structure",)
    found: list[str] = []
    if not _plausible_birth(number, at):
        found.append("birth_date")
    if number[17] != ric.calc_check_digit(number):
        found.append("check_digit")
    if not divisions.ever_existed(number[:6]):
        found.append("division")
    return tuple(found)


def _plausible_birth(number: str, at: date) -> bool:
    """``ric.get_birth_date`` on a number of the right shape, without its second clean-up."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:  # no such calendar date (stdnum's InvalidComponent)
        return False
    age = at.year - born.year - ((at.month, at.day) < (born.month, born.day))
    return 0 <= age <= MAX_AGE_YEARS

