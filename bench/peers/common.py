"""What every peer shares: command line, registers, per-event work, the N-events budget, the result.

The peers differ only in the streaming framework around the work, so the work
itself lives here: ``Processor`` runs our pure logic (``Enricher``,
``Engine``, ``build_alert``) exactly as the worker does, and
``EventBudget`` decides which events of a record still count, when timing
starts and when it ends. Loading the registers and creating the output topic
happen before the first event and are not timed.

Nothing here prints personal data: progress and errors name topics, offsets
and counts only, and validation errors are reduced to field locations
(``streams.codec.describe``), because pydantic's own messages echo the input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from pydantic import ValidationError

from schemas import Alert, Checkpoint, Compound, EnrichedEvent, Event, EventBatch, QuarantineOrder, Resident, RiskArea
from streams.alerts import build_alert
from streams.catalogue import Catalogue, load_catalogue
from streams.codec import describe, safe_error
from streams.engine import Engine
from streams.enrich import Enricher
from streams.master import MemoryMaster, merge_risk, store_key
from streams.privacy import PersonKeys
from streams.rules.state import MemoryState
from streams.settings import KafkaSettings, PrivacySettings
from streams.topics import admin_client

PROGRESS_EVERY = 100_000
"""Master-data records between two progress lines on stderr."""


class PeerError(RuntimeError):
    """A peer cannot finish its run; the message is safe to print (no personal data)."""


def say(message: str) -> None:
    """One line on stderr: stdout stays free for whoever runs the peer."""
    print(message, file=sys.stderr, flush=True)


# --- command line ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerArgs:
    name: str
    bootstrap: str
    prefix: str
    events: int
    clickhouse_dsn: str
    database: str
    group: str
    out: Path
    person_key_secret: str
    timeout_s: float

    def topic(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}peer-{self.name}-alerts"

    def person_keys(self) -> PersonKeys:
        return PersonKeys(secret=self.person_key_secret.encode())


def parse_args(name: str, argv: Sequence[str] | None = None) -> PeerArgs:
    default_secret = PrivacySettings().person_key_secret.get_secret_value()
    p = argparse.ArgumentParser(
        prog=f"python -m bench.peers.{name}",
        description=f"Benchmark peer {name!r}: enrich and evaluate N events, alerts to Kafka, rows to ClickHouse.",
    )
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, HOST:PORT")
    p.add_argument("--prefix", required=True, help="topic prefix, e.g. 'gridwatch.'")
    p.add_argument("--events", required=True, type=int, help="events (inside batches) to process, then stop")
    p.add_argument("--clickhouse-dsn", required=True, help="chdb:///abs/path or http(s)://user:pw@host:port")
    p.add_argument("--database", required=True, help="ClickHouse database for the tables")
    p.add_argument("--group", required=True, help="consumer group (and Faust app id); use a fresh one per run")
    p.add_argument("--out", required=True, type=Path, help="where to write the result JSON")
    p.add_argument("--person-key-secret", default=default_secret,
                   help="HMAC secret to make person keys with, the worker's current one "
                        "(default: the settings' dev value)")
    p.add_argument("--timeout", type=float, default=300.0, dest="timeout_s",
                   help="fail when no new event arrives for this many seconds before N are done (default 300)")
    ns = p.parse_args(argv)
    if ns.events < 1:
        p.error("--events must be at least 1")
    if ns.timeout_s <= 0:
        p.error("--timeout must be positive")
    return PeerArgs(name=name, **vars(ns))


# --- master data -----------------------------------------------------------------------------


def load_master(args: PeerArgs, keys: PersonKeys) -> MemoryMaster:
    """Read every register topic from the beginning to its current end into a ``MemoryMaster``.

    Records are applied in offset order with compacted-topic semantics: a later
    value replaces an earlier one, a null value deletes. The person registers
    are keyed by their natural key (``streams.master.register_key``); persons
    are stored under the person key ``keys`` makes of it, as the worker's store
    does (``store_key``).
    """
    master = MemoryMaster(keys)

    def resident(key: str, value: bytes | None) -> None:
        if value is None:
            master.residents.pop(store_key("residents", key, keys), None)
        else:
            master.residents[store_key("residents", key, keys)] = Resident.model_validate_json(value)

    def order(key: str, value: bytes | None) -> None:
        if value is None:
            master.orders.pop(store_key("quarantine-orders", key, keys), None)
        else:
            master.orders[store_key("quarantine-orders", key, keys)] = QuarantineOrder.model_validate_json(value)

    def checkpoint(key: str, value: bytes | None) -> None:
        if value is None:
            master.checkpoints.pop(key, None)
        else:
            cp = Checkpoint.model_validate_json(value)
            master.checkpoints[cp.checkpoint_id] = cp

    def compound(key: str, value: bytes | None) -> None:
        if value is None:
            master.compounds.pop(key, None)
        else:
            co = Compound.model_validate_json(value)
            master.compounds[co.compound_id] = co

    def risk(key: str, value: bytes | None) -> None:
        if value is None:
            master.risks.pop(key, None)
        else:
            area = RiskArea.model_validate_json(value)
            master.risks[area.division_code] = merge_risk(master.risks.get(area.division_code, ()), area)

    start = time.monotonic()
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        client_id=f"peer-{args.name}-master",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        receive_buffer_bytes=4 * 1024 * 1024,
        check_crcs=False,  # kafka-python checks CRC32C in pure Python: most of the load time for 1M records
    )
    try:
        for logical, apply in (("compounds", compound), ("checkpoints", checkpoint), ("risk-areas", risk),
                               ("residents", resident), ("quarantine-orders", order)):
            _read_to_end(consumer, args.topic(logical), apply)
    finally:
        consumer.close()
    say(f"master data loaded in {time.monotonic() - start:.1f}s: {len(master.residents):,} residents, "
        f"{len(master.compounds):,} compounds, {len(master.checkpoints):,} checkpoints, "
        f"{len(master.orders):,} quarantine orders, {len(master.risks):,} risk divisions")
    return master


def _read_to_end(consumer: KafkaConsumer, topic: str, apply: Callable[[str, bytes | None], None]) -> None:
    """Apply every record of ``topic`` up to the end offsets taken when reading starts."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise PeerError(f"topic {topic} does not exist (publish the registers first)")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    pending = {tp for tp in tps if consumer.position(tp) < end[tp]}
    total = sum(end.values())  # an upper bound: compaction and start offsets only lower it
    n = bad = 0
    next_progress = PROGRESS_EVERY
    while pending:
        for tp, records in consumer.poll(timeout_ms=1000, max_records=100_000).items():
            for rec in records:
                if rec.offset >= end[tp]:
                    break
                try:
                    apply(rec.key.decode() if rec.key is not None else "", rec.value)
                except ValidationError as exc:
                    bad += 1
                    if bad == 1:
                        say(f"{topic}: skipping invalid records, first at [{tp.partition}]@{rec.offset}: "
                            f"{describe(exc)}")
                n += 1
        pending = {tp for tp in pending if consumer.position(tp) < end[tp]}
        if n >= next_progress:
            say(f"{topic}: {n:,} of at most {total:,} records")
            next_progress = (n // PROGRESS_EVERY + 1) * PROGRESS_EVERY
    say(f"{topic}: {n:,} records" + (f", {bad:,} invalid skipped" if bad else ""))


# --- output topic ----------------------------------------------------------------------------


def ensure_alerts_topic(args: PeerArgs) -> str:
    """Create ``{prefix}peer-{name}-alerts`` with the events topic's partition count, if missing."""
    admin = admin_client(KafkaSettings(bootstrap=args.bootstrap))
    try:
        events = args.topic("events")
        existing = set(admin.list_topics())
        if events not in existing:
            raise PeerError(f"topic {events} does not exist (publish the events first)")
        partitions = len(admin.describe_topics([events])[0]["partitions"])
        name = args.alerts_topic
        if name not in existing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another peer run won the race
                admin.create_topics([NewTopic(name, partitions, 1)])
        _wait_for_leaders(admin, name)
        return name
    finally:
        admin.close()


def _wait_for_leaders(admin: Any, name: str, wait_s: float = 30.0) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for d in admin.describe_topics([name]):
            if d["partitions"] and all(p["leader_id"] >= 0 for p in d["partitions"]):
                return
        time.sleep(0.2)
    raise PeerError(f"topic {name} has no leaders after {wait_s:.0f}s")


# --- the per-event work ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Processed:
    """One event after enrichment and rules: its row and its alerts."""

    event: EnrichedEvent
    alerts: tuple[Alert, ...]


class Processor:
    """Decode, enrich, evaluate: the worker's logic, without its framework."""

    def __init__(self, master: MemoryMaster, keys: PersonKeys, catalogue: Catalogue | None = None) -> None:
        self._enricher = Enricher(master=master, keys=keys)
        self._engine = Engine(catalogue or load_catalogue(), states=lambda rule_id: MemoryState())

    @staticmethod
    def decode(raw: bytes, where: str) -> EventBatch:
        """Validate one record; the error names the record, never the values in it."""
        try:
            return EventBatch.model_validate_json(raw)
        except ValidationError as exc:
            raise PeerError(f"{where} is not a valid EventBatch: {describe(exc)}") from None

    def process(self, event: Event, detected_at: datetime) -> Processed:
        try:
            enriched = self._enricher.enrich(event)
            alerts = [build_alert(f, enriched, detected_at=detected_at) for f in self._engine.evaluate(enriched)]
            # anti-passback's held sightings come due as event time passes (this event's time stands in
            # for the watermark, as in a single ordered stream), each about its own event
            alerts += [build_alert(f, held, detected_at=detected_at)
                       for f, held in self._engine.confirm(enriched.event_time)]
            return Processed(enriched, tuple(alerts))
        except Exception as exc:  # an exception's message can quote personal data: keep type and place
            raise PeerError(f"processing event failed: {safe_error(exc)}") from None

    def process_all(self, events: Sequence[Event]) -> list[Processed]:
        detected_at = datetime.now(UTC)
        return [self.process(e, detected_at) for e in events]


# --- counting and timing ---------------------------------------------------------------------


class EventBudget:
    """Counts events up to N: hands out what is left of each record, and times the run.

    Timing starts when the first record is taken and ends at ``finish()``,
    which a peer calls once its rows are stored and its alerts flushed. It
    also keeps the time of the last record taken, for the idle timeout.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.events = 0
        self.records = 0
        self.alerts = 0
        self.rows = 0
        self.alert_rows = 0
        self.first_consumed_at: float | None = None
        self.done_at: float | None = None
        self._t0 = 0.0
        self._t1 = 0.0
        self._last_seen = time.monotonic()

    @property
    def done(self) -> bool:
        """All N events were taken (not necessarily stored yet)."""
        return self.events >= self.n

    def take(self, batch: EventBatch) -> tuple[Event, ...]:
        """The events of ``batch`` that still count; empty once N were taken."""
        now = time.monotonic()
        self._last_seen = now
        if self.done:
            return ()
        if self.first_consumed_at is None:
            self.first_consumed_at = time.time()
            self._t0 = now
        events = batch.events[: self.n - self.events]
        self.events += len(events)
        self.records += 1
        return events

    def idle_s(self) -> float:
        """Seconds since the last record (or since start, before the first one)."""
        return time.monotonic() - self._last_seen

    def finish(self) -> None:
        self._t1 = time.monotonic()
        self.done_at = time.time()

    def shortfall(self, timeout_s: float) -> PeerError:
        return PeerError(f"only {self.events:,} of {self.n:,} events arrived; none for {timeout_s:.0f}s. "
                         "Does the events topic hold enough?")

    def result(self, name: str) -> dict[str, Any]:
        if self.first_consumed_at is None or self.done_at is None:
            raise PeerError("the run did not finish")
        elapsed = self._t1 - self._t0
        return {
            "name": name,
            "events": self.events,
            "records": self.records,
            "alerts": self.alerts,
            "rows": self.rows,
            "alert_rows": self.alert_rows,
            "elapsed_s": elapsed,
            "eps": self.events / elapsed if elapsed > 0 else 0.0,
            "first_consumed_at": self.first_consumed_at,
            "done_at": self.done_at,
        }


def write_result(args: PeerArgs, budget: EventBudget) -> dict[str, Any]:
    """Write the result JSON to ``--out`` and say it in one line on stderr."""
    result = budget.result(args.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    say(f"{args.name}: {result['events']:,} events in {result['records']:,} records, "
        f"{result['alerts']:,} alerts, {result['rows']:,} rows in {result['elapsed_s']:.2f}s "
        f"= {result['eps']:,.0f} events/s")
    return result


__all__ = [
    "EventBudget",
    "PeerArgs",
    "PeerError",
    "Processed",
    "Processor",
    "ensure_alerts_topic",
    "load_master",
    "parse_args",
    "say",
    "write_result",
]
