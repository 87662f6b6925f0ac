"""What a resident ID number (GB 11643) tells: validity and issuing division.

The first six digits are the GB/T 2260 division of the card holder's household
registration when the number was issued. The checksum (ISO 7064 MOD 11-2) and
birth-date checks come from python-stdnum rather than code of ours.
"""

from __future__ import annotations

from stdnum.cn import ric


def division_of(id_number: str) -> str:
    """The issuing division code; an inference about origin, not a fact."""
    return id_number[:6]


def is_valid(id_number: str) -> bool:
    return bool(ric.is_valid(id_number))


def with_check_digit(first17: str) -> str:
    """Complete 17 digits to a valid 18-character number (used by the simulator)."""
    # calc_check_digit reads the first 17 characters of a full-length number
    return first17 + ric.calc_check_digit(first17 + "0")
