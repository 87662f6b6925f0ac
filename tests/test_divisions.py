"""The dated supersession table: codes in force at an event date, chains, and the table's own consistency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from streams import divisions
from streams.divisions import county_at, ever_existed, name_of, supersessions

ARTICLE_DAY = date(2020, 2, 18)


def test_xiacheng_is_still_its_own_county_in_2020() -> None:
    assert county_at("330103", ARTICLE_DAY) == "330103"
    assert county_at("330103", ARTICLE_DAY) != county_at("330105", ARTICLE_DAY)


def test_xiacheng_is_gongshu_from_the_april_2021_merger() -> None:
    assert county_at("330103", date(2021, 4, 8)) == "330103"
    assert county_at("330103", date(2021, 4, 9)) == "330105"
    assert county_at("330103", date(2022, 1, 1)) == county_at("330105", date(2022, 1, 1)) == "330105"


def test_jianggan_is_shangcheng_from_the_april_2021_merger() -> None:
    assert county_at("330104", date(2021, 4, 8)) == "330104"
    assert county_at("330104", date(2021, 4, 9)) == "330102"


@pytest.mark.parametrize(
    ("old", "at", "expected"),
    [
        ("332529", date(1981, 12, 31), "332529"),
        ("332529", date(1983, 6, 1), "332427"),
        ("332529", date(1985, 4, 30), "332427"),
        ("332529", date(1985, 5, 1), "330822"),
        ("332427", ARTICLE_DAY, "330822"),
        ("332529", ARTICLE_DAY, "330822"),
    ],
)
def test_old_changshan_codes_follow_the_county_to_330822(old: str, at: date, expected: str) -> None:
    assert county_at(old, at) == expected


def test_a_chain_is_followed_only_as_far_as_the_date() -> None:
    # Fenghua: 奉化县 332223 -> 330224 (1983) -> 奉化市 330283 (1989) -> 奉化区 330213 (2016)
    assert county_at("332223", date(1982, 6, 1)) == "332223"
    assert county_at("332223", date(1985, 6, 1)) == "330224"
    assert county_at("332223", date(2000, 6, 1)) == "330283"
    assert county_at("332223", date(2020, 6, 1)) == "330213"
    assert county_at("330224", date(2020, 6, 1)) == "330213"


@pytest.mark.parametrize("code", ["330822", "420106", "999999", "12", ""])
def test_codes_without_a_supersession_pass_through_unchanged(code: str) -> None:
    assert county_at(code, date(2030, 1, 1)) == code


def test_every_row_agrees_with_the_years_in_stdnum_loc_dat() -> None:
    """Each effective year is when loc.dat ends the old code or starts the new one."""
    for row in supersessions().values():
        ends = {end for _, end, _ in divisions.years_in_use(row.old)}
        starts = {start for start, _, _ in divisions.years_in_use(row.new)}
        assert row.effective.year in ends | starts, row
        assert ever_existed(row.old) and ever_existed(row.new), row


def test_every_row_says_how_exact_its_date_is() -> None:
    assert all(row.note.strip() for row in supersessions().values())


def test_no_code_is_superseded_into_a_cycle() -> None:
    far = date(2100, 1, 1)
    for old in supersessions():
        final = county_at(old, far)
        assert final not in supersessions()


def test_ever_existed_knows_historical_county_codes_and_rejects_others() -> None:
    assert ever_existed("332529")  # Changshan until 1982
    assert ever_existed("330103")  # Xiacheng until 2021
    assert ever_existed("330113") and ever_existed("330114")  # 2021 districts missing from stdnum 2.2
    assert ever_existed("330100")  # prefecture-level, carried by some older cards
    assert not ever_existed("330000")  # province-level
    assert not ever_existed("339999")
    assert not ever_existed("33082")
    assert not ever_existed("33o822")


def test_names_are_the_latest_name_of_a_code() -> None:
    assert name_of("330105") == "拱墅区"
    assert name_of("332427") == "常山县"  # Taishun until 1981, then Changshan
    assert name_of("330114") == "钱塘区"
    assert name_of("339999") == ""


def test_known_codes_are_the_codes_ever_existed_accepts() -> None:
    codes = divisions.known_codes()
    assert {"330822", "332529", "330103", "330113"} <= codes
    assert "330000" not in codes
    assert all(ever_existed(code) for code in codes)


def test_event_date_is_the_date_in_china() -> None:
    late_utc = datetime(2020, 2, 18, 16, 30, tzinfo=UTC)  # 00:30 on the 19th in Changshan
    assert divisions.event_date(late_utc) == date(2020, 2, 19)
    assert divisions.event_date(datetime(2020, 2, 18, 22, 0, tzinfo=timezone(timedelta(hours=8)))) == ARTICLE_DAY
