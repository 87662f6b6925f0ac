"""Registers kept beside the residents: guard-registered visits and the two upstream person registers.

Built from their own seeded random streams, so adding them left the street's
residents and checkpoints exactly as they were for a given seed.

* Visits (来访登记): a guard registers an outsider for one compound and a host
  dwelling for a few hours; the day generator walks those visitors in and out
  within their visit, so a registered visit exempts them from
  ``unregistered_person`` as it does at a real gate.
* Person records (反向纠察): the provincial epidemic system and the county 537
  system both hold the street's returnees (the persons they track). They
  agree for all but a few persons, each disagreeing on one field; one of the
  disagreements is corrected in the afternoon of the day, so its re-check task
  opens and then closes itself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from schemas import Compound, HealthCode, PersonRecord, QuarantineOrder, Resident, Visitor
from streams.idcard import is_valid, with_check_digit

_VISITOR_BORN = (date(1970, 1, 1).toordinal(), date(2001, 12, 31).toordinal())
VISITOR_CODES = ("330802", "330824", "330825", "330881")  # neighbouring counties: never issued to the register
RECORDS_CAP = 2_000
"""Persons with upstream records at most: the returnees at the article's size, bounded for a million residents."""
VISIT_HOURS = 4
LATE_VISIT_ID = "v-late-2330"
CORRECTION_AT = time(15, 0)


@dataclass(frozen=True, slots=True)
class UpstreamRegisters:
    visitors: tuple[Visitor, ...]
    person_records: tuple[PersonRecord, ...]
    record_corrections: tuple[PersonRecord, ...]


def visitor_id(rng: random.Random) -> str:
    """An outsider's valid ID from a neighbouring county (in no register of the street)."""
    while True:
        born = date.fromordinal(rng.randint(*_VISITOR_BORN))
        number = with_check_digit(f"{rng.choice(VISITOR_CODES)}{born:%Y%m%d}{rng.randrange(1000):03d}")
        if is_valid(number):
            return number


def build_upstream(
    *,
    seed: int,
    tz: tzinfo,
    as_of: date,
    compounds: Sequence[Compound],
    residents: Sequence[Resident],
    orders: Sequence[QuarantineOrder],
    closed_compounds: Sequence[int],
    visitor_rate: float = 0.003,
) -> UpstreamRegisters:
    rng = random.Random(f"upstream:{seed}")
    start = datetime.combine(as_of, time(), tz)
    visitors = _visits(rng, start, compounds, closed_compounds, max(3, round(len(residents) * visitor_rate)))
    records, corrections = _person_records(rng, start, compounds, residents, orders)
    return UpstreamRegisters(visitors, records, corrections)


def _visits(
    rng: random.Random, start: datetime, compounds: Sequence[Compound], closed: Sequence[int], n: int
) -> tuple[Visitor, ...]:
    """Daytime visits to closed compounds, plus one late arrival (23:25) for ``late_night_entry``."""
    out: list[Visitor] = []
    for k in range(n + 1):
        comp = compounds[rng.choice(closed)]
        late = k == n
        at = start + (timedelta(hours=23, minutes=25) if late else timedelta(hours=rng.uniform(8.3, 19.0)))
        out.append(
            Visitor(
                visit_id=LATE_VISIT_ID if late else f"v{k + 1:05d}",
                id_number=visitor_id(rng),
                compound_id=comp.compound_id,
                host_dwelling_id=f"{comp.compound_id}-{rng.randint(1, max(1, comp.dwellings)):04d}",
                valid_from=at,
                valid_until=at + timedelta(hours=12 if late else VISIT_HOURS),
            )
        )
    return tuple(out)


def _person_records(
    rng: random.Random,
    start: datetime,
    compounds: Sequence[Compound],
    residents: Sequence[Resident],
    orders: Sequence[QuarantineOrder],
) -> tuple[tuple[PersonRecord, ...], tuple[PersonRecord, ...]]:
    names = {c.compound_id: c.name for c in compounds}
    quarantined = {q.id_number for q in orders}
    tracked = [r for r in residents if not r.id_number.startswith("33")]
    if len(tracked) > RECORDS_CAP:
        tracked = rng.sample(tracked, RECORDS_CAP)
    synced = start - timedelta(hours=4)
    county: list[PersonRecord] = []
    provincial: list[PersonRecord] = []
    for r in tracked:
        record = PersonRecord(
            register_name="county",
            id_number=r.id_number,
            address=f"常山县天马街道{names[r.compound_id]}{r.dwelling_id.rsplit('-', 1)[-1]}室",
            quarantined=r.id_number in quarantined,
            health_code=HealthCode.GREEN,
            updated_at=synced,
        )
        county.append(record)
        provincial.append(record.model_copy(update={"register_name": "provincial"}))
    corrections: list[PersonRecord] = []
    if len(tracked) >= 4:
        # one disagreement per field, and a fourth (address) that the province corrects in the afternoon
        a, q, h, fixed = rng.sample(range(len(tracked)), 4)
        provincial[a] = provincial[a].model_copy(update={"address": "杭州市拱墅区米市巷街道"})
        provincial[q] = provincial[q].model_copy(update={"quarantined": not provincial[q].quarantined})
        provincial[h] = provincial[h].model_copy(update={"health_code": HealthCode.YELLOW})
        corrected_at = datetime.combine(start.date(), CORRECTION_AT, start.tzinfo)
        corrections.append(provincial[fixed].model_copy(update={"updated_at": corrected_at}))
        provincial[fixed] = provincial[fixed].model_copy(update={"address": "衢州市柯城区府山街道"})
    return (*county, *provincial), tuple(corrections)
