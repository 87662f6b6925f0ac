"""GB/T 2260 division codes over time: which codes ever existed and what replaced them.

A card keeps the division code in force when its number was issued, so a 2020
card may say Xiacheng (330103) although Xiacheng was merged into Gongshu
(330105) in April 2021, and older Changshan residents carry 3325xx or 3324xx
codes from before Quzhou became a city in 1985. Comparing a card with a
declared place therefore needs the code each one stood for *at the event date*.

Sources:

- Which codes ever existed, and their names: python-stdnum's ``stdnum/cn/loc.dat``
  (``stdnum.numdb``), compiled from the Chinese Wikipedia tables of GB/T 2260
  codes, each name with the years it was in use. It lacks Hangzhou's Linping
  (330113) and Qiantang (330114), created in 2021; they are added here.
- Supersessions: ``divisions.csv`` next to this module (old, new, effective,
  note), chosen from loc.dat's year ranges; the note of each row says how
  exact its date is. Most are known to the year only and take 1 January; the
  Hangzhou 2021 merger is in force from its announcement on 2021-04-09 and
  Quzhou's elevation from May 1985.

A code reused for another place (332427 was Taishun until 1981, Changshan in
1982-1985) gets one successor: the meaning in force when resident ID numbers
were first issued (1984-85), which is Changshan's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache, lru_cache
from importlib import resources

from stdnum import numdb

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time: the calendar in which division changes and birth dates are dated (no DST since 1991)."""

# Created after python-stdnum 2.2's loc.dat was compiled.
_MISSING_FROM_STDNUM = {"330113": "临平区", "330114": "钱塘区"}


@dataclass(frozen=True, slots=True)
class Supersession:
    """From ``effective`` on, ``old`` is no longer in force; its area belongs to ``new``."""

    old: str
    new: str
    effective: date
    note: str


class DivisionTableError(ValueError):
    """The packaged supersession table is malformed (a build error, not a data error at run time)."""


def event_date(moment: datetime) -> date:
    """The calendar date in China of an aware timestamp: the date divisions and ages are judged on."""
    return moment.astimezone(CST).date()


@cache
def supersessions() -> dict[str, Supersession]:
    """The table, keyed by old code; read once from the package data."""
    text = resources.files(__package__).joinpath("divisions.csv").read_text(encoding="utf-8")
    table: dict[str, Supersession] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            entry = Supersession(row["old"], row["new"], date.fromisoformat(row["effective"]), row["note"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DivisionTableError(f"divisions.csv line {line}: malformed row") from exc
        if not (_is_code(entry.old) and _is_code(entry.new)) or entry.old == entry.new:
            raise DivisionTableError(f"divisions.csv line {line}: codes must be two different six-digit codes")
        if entry.old in table:
            raise DivisionTableError(f"divisions.csv line {line}: {entry.old} already has a successor")
        table[entry.old] = entry
    return table


def county_at(code: str, at: date) -> str:
    """The code in force on ``at`` for the area ``code`` named: every supersession on or before ``at``, chained.

    Unknown codes, and codes still in force, come back unchanged.
    """
    table = supersessions()
    for _ in range(len(table) + 1):  # a chain cannot be longer than the table; bounds a cycle
        step = table.get(code)
        if step is None or step.effective > at:
            return code
        code = step.new
    raise DivisionTableError("divisions.csv has a cycle")


@lru_cache(maxsize=8192)  # bounded: codes come from untrusted input; a street sees a few hundred
def ever_existed(code: str) -> bool:
    """Whether ``code`` was ever a GB/T 2260 code below province level (what a card may carry).

    Prefecture-level codes (xxxx00) count: loc.dat lists them and some older
    cards carry them. Province-level codes (xx0000) do not.
    """
    if not _is_code(code) or code.endswith("0000"):
        return False
    return bool(_meanings(code)) or code in _MISSING_FROM_STDNUM or code in _codes_in_table()


def name_of(code: str) -> str:
    """The latest name of ``code`` (e.g. "拱墅区"), or "" if unknown."""
    if code in _MISSING_FROM_STDNUM:
        return _MISSING_FROM_STDNUM[code]
    meanings = _meanings(code) if _is_code(code) else ()
    return meanings[-1][2] if meanings else ""


def years_in_use(code: str) -> tuple[tuple[int | None, int | None, str], ...]:
    """(first year, last year, name) of each meaning of ``code`` in loc.dat; None where open-ended."""
    return _meanings(code) if _is_code(code) else ()


@cache
def known_codes() -> frozenset[str]:
    """Every code ``ever_existed`` accepts; for tests and simulators that need real codes."""
    codes: set[str] = set(_MISSING_FROM_STDNUM) | _codes_in_table()
    for _, low, high, _, children in numdb.get("cn/loc").prefixes:
        for province in range(int(low), int(high) + 1):
            for _, c_low, c_high, props, _ in children:
                if "county" in props:
                    codes.update(f"{province:02d}{n:04d}" for n in range(int(c_low), int(c_high) + 1))
    return frozenset(code for code in codes if ever_existed(code))


@cache
def _codes_in_table() -> frozenset[str]:
    return frozenset(code for s in supersessions().values() for code in (s.old, s.new))


@lru_cache(maxsize=8192)  # bounded: codes come from untrusted input
def _meanings(code: str) -> tuple[tuple[int | None, int | None, str], ...]:
    """loc.dat's entry for a six-digit code, split into (start, end, name) per meaning."""
    props = {k: v for _, part in numdb.get("cn/loc").info(code) for k, v in part.items()}
    county = props.get("county")
    if not county:
        return ()
    meanings: list[tuple[int | None, int | None, str]] = []
    for item in county.split(","):
        if not item.startswith("["):
            meanings.append((None, None, item))
            continue
        span, name = item[1:].split("]", 1)
        start, end = span.split("-", 1)
        meanings.append((int(start) if start else None, int(end) if end else None, name))
    return tuple(meanings)


def _is_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()
