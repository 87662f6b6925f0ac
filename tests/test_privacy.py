from __future__ import annotations

import pytest

from streams.idcard import division_of, is_valid, with_check_digit
from streams.privacy import PersonKeys, mask_id, mask_plate
from tests.factories import RESIDENT_ID


def test_mask_id_keeps_division_and_last_four_only() -> None:
    masked = mask_id("330105199203150042")
    assert masked == "330105********0042"
    assert "19920315" not in masked


def test_mask_id_of_malformed_input_reveals_nothing() -> None:
    assert mask_id("12345") == "*****"


def test_mask_plate_hides_the_middle() -> None:
    assert mask_plate("浙H12345") == "浙H***45"
    assert mask_plate("浙H1") == "浙**"


def test_person_key_is_stable_and_depends_on_the_secret() -> None:
    a, b = PersonKeys(secret=b"one"), PersonKeys(secret=b"two")
    assert a.key(RESIDENT_ID) == a.key(RESIDENT_ID.lower())
    assert a.key(RESIDENT_ID) != b.key(RESIDENT_ID)
    assert RESIDENT_ID not in a.key(RESIDENT_ID)
    assert len(a.key(RESIDENT_ID)) == 20


def test_person_keys_refuse_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        PersonKeys(secret=b"")


def test_generated_id_numbers_carry_a_valid_check_digit() -> None:
    number = with_check_digit("33010319900101123")
    assert is_valid(number)
    assert division_of(number) == "330103"
    broken = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert not is_valid(broken)
