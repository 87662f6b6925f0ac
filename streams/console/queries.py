"""What the command post asks of ClickHouse: tracing a person, who is inside a compound, the day's report.

Every query is a fixed statement with bound parameters (``{name:Type}``,
never formatted in), over the tables the sink writes, read with ``FINAL`` so a
revision or event written twice counts once. Results carry masked subjects
only: a person is looked up by their pseudonymous key (``subject_key``), made
on the server from the ID number the operator typed, which is never stored,
logged or sent anywhere.

Table names are formatted in (``database`` is checked to be a plain
identifier at construction), values never: hence the ``S608`` waivers.
"""

# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from streams.console.board import CHINA, local_time


class Reader(Protocol):
    """What the queries need of the store (``sinks.ClickHouseSink`` has it)."""

    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Sighting:
    at: str
    event_type: str
    checkpoint_id: str
    compound_id: str
    large_grid: str
    small_grid: str
    direction: str
    temperature_c: float | None
    health_code: str


@dataclass(frozen=True)
class Contact:
    subject_masked: str
    times_together: int
    first_at: str
    checkpoints: tuple[str, ...]


@dataclass(frozen=True)
class Trace:
    since: str
    until: str
    minutes: int
    sightings: list[Sighting]
    contacts: list[Contact]


@dataclass(frozen=True)
class Inside:
    subject_masked: str
    entered_at: str
    checkpoint_id: str


@dataclass
class DayReport:
    day: date
    figures: dict[str, int | float] = field(default_factory=dict)
    returnees: dict[str, int] = field(default_factory=dict)
    alerts_by_rule: list[tuple[str, int]] = field(default_factory=list)
    alerts_by_grid: list[tuple[str, int]] = field(default_factory=list)
    events_by_checkpoint_hour: list[tuple[str, int, int]] = field(default_factory=list)

    def csv_rows(self) -> list[tuple[str, str, str]]:
        """(section, key, value) rows: one CSV for every figure of the report."""
        out: list[tuple[str, str, str]] = [("day", "", self.day.isoformat())]
        out += [("figure", k, str(v)) for k, v in self.figures.items()]
        out += [("returnees", k, str(v)) for k, v in self.returnees.items()]
        out += [("alerts_by_rule", k, str(v)) for k, v in self.alerts_by_rule]
        out += [("alerts_by_grid", k, str(v)) for k, v in self.alerts_by_grid]
        out += [("events_by_checkpoint_hour", f"{c} {h:02d}:00", str(n)) for c, h, n in self.events_by_checkpoint_hour]
        return out


HUBEI = "42"
ZHEJIANG = "33"


class Queries:
    def __init__(self, reader: Reader, database: str) -> None:
        if not database.isidentifier():
            raise ValueError("database must be a plain identifier")
        self._r = reader
        self._db = database

    def trace(self, subject_keys: Sequence[str], *, until: datetime, days: int, minutes: int) -> Trace:
        """Where one person was seen over ``days`` before ``until``, and who was at the same checkpoint within
        ``minutes`` of each sighting (the contact-tracing question). ``subject_keys``: the person's key under
        every person-key secret held (``PersonKeys.every_key``), so a trace reaches back over a rotation."""
        since = until - timedelta(days=days)
        p = {"k": list(subject_keys), "since": _ms(since), "until": _ms(until), "m": minutes * 60_000}
        window = ("event_time BETWEEN fromUnixTimestamp64Milli({since:Int64}) "
                  "AND fromUnixTimestamp64Milli({until:Int64})")
        seen = self._r.query_rows(
            "SELECT event_time, event_type, checkpoint_id, compound_id, large_grid, small_grid, "
            "ifNull(toString(direction), ''), temperature_c, ifNull(toString(health_code), '') "
            f"FROM {self._db}.enriched_events FINAL WHERE subject_key IN {{k:Array(String)}} AND {window} "
            "ORDER BY event_time", p)
        contacts = self._r.query_rows(
            "SELECT any(e.subject_masked), count(), min(e.event_time), arraySort(groupUniqArray(e.checkpoint_id)) "
            f"FROM {self._db}.enriched_events AS e FINAL INNER JOIN ("
            f"  SELECT checkpoint_id, event_time AS at FROM {self._db}.enriched_events FINAL"
            f"  WHERE subject_key IN {{k:Array(String)}} AND checkpoint_id != '' AND {window}) AS s "
            "ON e.checkpoint_id = s.checkpoint_id "
            "WHERE e.subject_key NOT IN {k:Array(String)} AND e.subject_key != '' "
            "AND abs(toUnixTimestamp64Milli(e.event_time) - toUnixTimestamp64Milli(s.at)) <= {m:Int64} "
            "GROUP BY e.subject_key ORDER BY min(e.event_time), any(e.subject_masked)", p)
        return Trace(
            since=local_time(since), until=local_time(until), minutes=minutes,
            sightings=[Sighting(local_time(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in seen],
            contacts=[Contact(r[0], int(r[1]), local_time(r[2]), tuple(r[3])) for r in contacts],
        )

    def events(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The stored events an alert names (masked subject only), oldest first."""
        if not event_ids:
            return []
        rows = self._r.query_rows(
            "SELECT event_id, event_type, event_time, checkpoint_id, subject_masked, "
            "ifNull(toString(direction), ''), temperature_c, ifNull(toString(health_code), '') "
            f"FROM {self._db}.enriched_events FINAL WHERE event_id IN {{ids:Array(String)}} "
            "ORDER BY event_time, event_id", {"ids": list(event_ids[:200])})
        cols = ("event_id", "event_type", "event_time", "checkpoint_id", "subject_masked", "direction",
                "temperature_c", "health_code")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def inside(self, compound_id: str, *, until: datetime) -> list[Inside]:
        """Who is inside a compound at ``until``: everyone whose last passage through its checkpoints went in."""
        rows = self._r.query_rows(
            "SELECT any(subject_masked), max(event_time) AS last, argMax(checkpoint_id, event_time), "
            "argMax(toString(direction), event_time) AS way "
            f"FROM {self._db}.enriched_events FINAL "
            "WHERE compound_id = {c:String} AND direction IS NOT NULL AND subject_key != '' "
            "AND event_time <= fromUnixTimestamp64Milli({until:Int64}) "
            "GROUP BY subject_key HAVING way = 'in' ORDER BY last, any(subject_masked)",
            {"c": compound_id, "until": _ms(until)})
        return [Inside(r[0], local_time(r[1]), r[2]) for r in rows]

    def compound_grid(self, compound_id: str) -> str | None:
        """The large grid a compound's events were placed in (for grid staff's scope), None if never seen."""
        rows = self._r.query_rows(
            f"SELECT any(large_grid) FROM {self._db}.enriched_events WHERE compound_id = {{c:String}} "
            "HAVING count() > 0", {"c": compound_id})
        return str(rows[0][0]) if rows else None

    def report(self, day: date) -> DayReport:
        """The street's figures for one day (Beijing time), from the events and alerts stored."""
        start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
        p = {"since": _ms(start), "until": _ms(start + timedelta(days=1)) - 1}
        window = ("event_time BETWEEN fromUnixTimestamp64Milli({since:Int64}) "
                  "AND fromUnixTimestamp64Milli({until:Int64})")
        events = f"{self._db}.enriched_events FINAL WHERE {window}"
        (row,) = self._r.query_rows(
            "SELECT count(), uniqExact(large_grid), uniqExact(small_grid), uniqExactIf(checkpoint_id, checkpoint_id "
            "!= ''), uniqExactIf(subject_key, subject_kind = 'person'), "
            "uniqExactIf(subject_key, subject_kind = 'person' AND resident_known), "
            "uniqExactIf(subject_key, subject_kind = 'person' AND resident_verified), "
            "uniqExactIf(subject_key, quarantine_active), countIf(temperature_c IS NOT NULL) "
            f"FROM {events}", p)
        report = DayReport(day)
        persons, known, verified = int(row[4]), int(row[5]), int(row[6])
        report.figures = {
            "events": int(row[0]), "large_grids_active": int(row[1]), "small_grids_active": int(row[2]),
            "checkpoints_active": int(row[3]), "persons_seen": persons, "residents_seen": known,
            "residents_verified": verified, "verified_share_pct": round(100 * verified / known, 1) if known else 0.0,
            "under_quarantine_seen": int(row[7]), "temperatures_taken": int(row[8]),
        }
        origin = self._r.query_rows(
            "SELECT multiIf(startsWith(declared_origin, {hubei:String}), 'hubei', "
            "startsWith(declared_origin, {home:String}), 'zhejiang', 'other_provinces') AS o, uniqExact(subject_key) "
            f"FROM {events} AND declared_origin IS NOT NULL AND subject_key != '' GROUP BY o ORDER BY o",
            {**p, "hubei": HUBEI, "home": ZHEJIANG})
        report.returnees = {"hubei": 0, "other_provinces": 0, "zhejiang": 0} | {str(o): int(n) for o, n in origin}
        alerts = f"{self._db}.alerts FINAL WHERE {window}"
        report.alerts_by_rule = [(str(r), int(n)) for r, n in self._r.query_rows(
            f"SELECT rule_id, count() FROM {alerts} GROUP BY rule_id ORDER BY count() DESC, rule_id", p)]
        report.alerts_by_grid = [(str(g), int(n)) for g, n in self._r.query_rows(
            f"SELECT large_grid, count() FROM {alerts} GROUP BY large_grid ORDER BY large_grid", p)]
        report.events_by_checkpoint_hour = [(str(c), int(h), int(n)) for c, h, n in self._r.query_rows(
            f"SELECT checkpoint_id, toHour(event_time), count() FROM {events} AND checkpoint_id != '' "
            "GROUP BY checkpoint_id, toHour(event_time) ORDER BY checkpoint_id, toHour(event_time)", p)]
        return report
