"""The registers' side of the day's report: residents, real-name verification and quarantine orders.

Fed from the compacted ``residents`` and ``quarantine-orders`` topics, whose
keys are already pseudonymous person keys. Only what the report counts is
kept per record (verified or not, the large grid; an order's start and end):
never a name, a phone or an ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schemas import QuarantineOrder, Resident
from streams.console.board import CHINA
from streams.console.places import fold_record


@dataclass(frozen=True)
class RegisterFigures:
    residents: int
    verified: int
    verified_share_pct: float
    renters: int
    quarantine_orders_active: int


class Census:
    def __init__(self) -> None:
        self._residents: dict[bytes, tuple[bool, bool, str]] = {}  # key -> (verified, renter, large grid)
        self._orders: dict[bytes, tuple[datetime, datetime]] = {}

    def take_resident(self, key: bytes | None, value: bytes | None) -> None:
        if key is not None:  # keyed by person key: a record without one cannot be replaced or removed
            fold_record(self._residents, Resident, key, value,
                        lambda r: (key, (r.verified, r.residency == "renter", r.large_grid)), bytes)

    def take_order(self, key: bytes | None, value: bytes | None) -> None:
        if key is not None:
            fold_record(self._orders, QuarantineOrder, key, value, lambda o: (key, (o.starts_at, o.ends_at)), bytes)

    def figures(self, day: date, large_grid: str = "") -> RegisterFigures:
        """As registered now; orders counted if in force at any time of ``day`` (Beijing time)."""
        rows = [v for v in self._residents.values() if not large_grid or v[2] == large_grid]
        verified = sum(1 for v in rows if v[0])
        start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
        end = start + timedelta(days=1)
        active = sum(1 for s, e in self._orders.values() if s < end and e > start)
        return RegisterFigures(len(rows), verified, round(100 * verified / len(rows), 1) if rows else 0.0,
                               sum(1 for v in rows if v[1]), active)
