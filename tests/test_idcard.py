"""ID number validation: each reason code, older real cards stdnum rejects, and properties over generated numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.divisions import known_codes
from streams.idcard import MAX_AGE_YEARS, REASONS, division_of, is_valid, problems, with_check_digit

ARTICLE_DAY = date(2020, 2, 18)
GONGSHU_1992 = with_check_digit("33010519920315004")


def test_a_valid_number_has_no_problems() -> None:
    assert problems(GONGSHU_1992, at=ARTICLE_DAY) == ()
    assert problems(GONGSHU_1992.lower(), at=ARTICLE_DAY) == ()  # a lower-case x is the same number


@pytest.mark.parametrize(
    "number",
    ["", "33010519920315004", GONGSHU_1992 + "1", "3301051992031500A1", "33010519920315004Y"],
)
def test_malformed_numbers_are_structure_only(number: str) -> None:
    assert problems(number, at=ARTICLE_DAY) == ("structure",)


@pytest.mark.parametrize("birth", ["19920230", "19921301", "00000101"])
def test_impossible_calendar_dates_are_birth_date(birth: str) -> None:
    assert problems(with_check_digit(f"330105{birth}004"), at=ARTICLE_DAY) == ("birth_date",)


def test_a_birth_after_the_event_date_is_birth_date() -> None:
    number = with_check_digit("33010520200219004")
    assert problems(number, at=ARTICLE_DAY) == ("birth_date",)
    assert problems(number, at=date(2020, 2, 19)) == ()


def test_an_age_over_120_is_birth_date() -> None:
    number = with_check_digit("33082218991231004")
    assert problems(number, at=date(2019, 12, 31)) == ()  # exactly 120
    assert problems(number, at=date(2020, 1, 1)) == ()  # still 120
    assert problems(number, at=date(2020, 12, 31)) == ("birth_date",)  # 121 that day


def test_a_wrong_check_digit_is_check_digit() -> None:
    wrong = GONGSHU_1992[:17] + ("0" if GONGSHU_1992[17] != "0" else "1")
    assert problems(wrong, at=ARTICLE_DAY) == ("check_digit",)


def test_a_division_code_that_never_existed_is_division() -> None:
    assert problems(with_check_digit("33999919920315004"), at=ARTICLE_DAY) == ("division",)
    assert problems(with_check_digit("33000019920315004"), at=ARTICLE_DAY) == ("division",)  # province-level


def test_several_reasons_are_given_together_in_order() -> None:
    found = problems("339999199202300041", at=ARTICLE_DAY)
    assert set(found) >= {"birth_date", "division"}
    assert list(found) == [r for r in REASONS if r in found]


@pytest.mark.parametrize("first17", ["33252919600505123", "33242719840505123"])
def test_older_changshan_cards_are_valid(first17: str) -> None:
    assert problems(with_check_digit(first17), at=ARTICLE_DAY) == ()


def test_a_330822_card_of_someone_born_before_1985_is_valid_though_stdnum_rejects_it() -> None:
    """stdnum wants the code in use in the birth year; numbers were issued later, so real cards fail it."""
    number = with_check_digit("33082219600505123")
    assert problems(number, at=ARTICLE_DAY) == ()
    assert not is_valid(number)


def test_xiacheng_cards_stay_valid_after_the_merger() -> None:
    assert problems(with_check_digit("33010319900101123"), at=date(2025, 1, 1)) == ()


def test_division_of_reads_the_first_six_digits() -> None:
    assert division_of(GONGSHU_1992) == "330105"


def test_problems_never_echo_the_number(capsys: pytest.CaptureFixture[str]) -> None:
    problems("339999199202300041", at=ARTICLE_DAY)
    out = capsys.readouterr()
    assert "339999199202300041" not in out.out + out.err


# properties -----------------------------------------------------------------

CODES = sorted(known_codes())
EVENT_DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, date]:
    at = draw(EVENT_DAYS)
    oldest = date(at.year - MAX_AGE_YEARS, at.month, min(at.day, 28)) + timedelta(days=1)  # 29 Feb safe
    born = draw(st.dates(min_value=oldest, max_value=at))
    first17 = f"{draw(st.sampled_from(CODES))}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return with_check_digit(first17), at


@given(valid_numbers())
def test_generated_valid_numbers_have_no_problems(case: tuple[str, date]) -> None:
    number, at = case
    assert problems(number, at=at) == ()


@given(valid_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_changing_any_one_of_the_first_17_digits_is_caught(case: tuple[str, date], position: int, shift: int) -> None:
    """MOD 11-2 weights are all non-zero mod 11, so every single substitution breaks the check digit."""
    number, at = case
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert changed != number
    assert "check_digit" in problems(changed, at=at)


@given(st.text(max_size=24), EVENT_DAYS)
def test_problems_are_a_deterministic_subset_of_the_reasons(number: str, at: date) -> None:
    first = problems(number, at=at)
    assert set(first) <= set(REASONS)
    assert len(set(first)) == len(first)
    assert problems(number, at=at) == first
