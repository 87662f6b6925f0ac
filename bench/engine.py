"""``gridwatch bench-engine``: the engine alone, in process, phase by phase; no Kafka, no ClickHouse.

Over the simulator's street and day (``build_street``, ``generate_day``), scaled to
``residents`` and ``events``, this times what the worker does per event in
Python, each phase on its own:

* ``decode``: the bytes of each ``EventBatch`` record as published → events (``codec.decode_batch``);
* ``enrich``: each event joined with the registers (``Enricher`` over a ``MemoryMaster``, or with
  ``registers="store"`` over the worker's own ``StoreMaster``: a RocksDB register store filled through the
  replicator's apply step in fetches of 5,000 records, as a worker loads the register topics);
* ``per_event``: the per-event rules and the routing of the event to the stateful families;
* ``stateful``: every stateful family the event is routed to, with ``MemoryState`` (the tests' in-memory
  state), the judge's lateness check, and on the event-time watermark (the latest event time seen, a
  single ordered stream) ``confirm`` every 10 s and ``tick`` every minute, as the judge agent does;
* ``finding_record``: each finding to its ``FindingRecord``, its JSON and its fingerprint (the record
  and the key the worker publishes).

``state="table"`` runs the stateful phase on the worker's own state path instead
(``TableState`` over a ``RecordView`` of an in-memory table, flushed every
``take_events`` events as the events agent flushes after each take: every
state serialised to JSON and read back from it), so the split shows what the
worker pays for state beyond the rules themselves.

``engine_eps`` is events over the sum of those phases. ``encode`` (each enriched
event to JSON, which the events agent publishes and routes) is timed too but
reported apart, outside ``engine_eps``; so is ``gc_s``: the cyclic garbage
collector is off during the phases and runs between chunks, since the
benchmark's heap (a whole street's registers and every person's rule state in
memory, where the worker has RocksDB) would otherwise charge a chunk's
phases for collections the worker does not make. Generating the day, serialising the
uploads and building the registers are not timed. Events go through in chunks of
``chunk_records`` uploads, each phase over the whole chunk, so memory stays
bounded at a million residents and the timers cost nothing per event.

The run also reports a digest of the enriched events and of the findings, and
``fingerprints`` (one line per finding), so an optimisation can prove it
changes nothing: ``tests/test_bench_engine.py`` compares them with a golden
file made before the engine was optimised.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from aiokafka import TopicPartition

from schemas import EnrichedEvent, Event
from streams.agents.judge import silence_event
from streams.agents.tables import RecordView, table_state
from streams.agents.tablestore import OffHeapStore
from streams.catalogue import load_catalogue
from streams.codec import DecodedBatch, decode_batch
from streams.engine import Engine, Family
from streams.enrich import Enricher
from streams.findings import fingerprint_of, to_record
from streams.judging import CONFIRM_EVERY, TICK_EVERY
from streams.master import MasterData
from streams.privacy import PersonKeys
from streams.registers import RegisterRecord, RegisterReplicator, RegisterStore, StoreMaster
from streams.rules.base import Finding
from streams.rules.state import MemoryState
from streams.settings import Settings
from streams.simulate import Street, build_street, generate_day, memory_master, publish_master_data

PHASES = ("decode", "enrich", "per_event", "stateful", "finding_record")
"""The phases ``engine_eps`` is made of, in pipeline order."""

DETECTED_AT = datetime(2020, 2, 8, tzinfo=UTC)
"""A fixed detection time, so the findings' records are the same on every run."""
SECRET = b"bench-engine"


class _MemoryTable(dict[bytes, bytes]):
    """A Faust table's part ``RecordView`` uses: bytes by bytes, and the partition a flush pins (ignored here)."""

    pinned: int | None = None


class _OffHeapTable:
    """The same part of a table over the worker's off-heap store (``OffHeapStore``), in a directory of its own."""

    name = "rule-state"
    pinned: int | None = None

    def __init__(self, path: Path) -> None:
        self.data = OffHeapStore("gridwatch-offheap://", None, self, table_name=self.name, path=path)

    def partition_for_key(self, key: bytes) -> int:
        return self.pinned or 0

    def get(self, key: bytes, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value

    def __delitem__(self, key: bytes) -> None:
        del self.data[key]

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.data)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return self.data.items()


class _RegisterFeed:
    """A producer for ``publish_master_data`` that hands the registers to a replicator's apply step, 5,000 records
    of a topic at a time (the replicator's fetch size), as a worker loads them from the register topics."""

    FETCH = 5_000

    def __init__(self, replicator: RegisterReplicator, loop: asyncio.AbstractEventLoop) -> None:
        self._replicator = replicator
        self._loop = loop
        self._pending: dict[str, list[RegisterRecord]] = {}
        self._offsets: Counter[str] = Counter()

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> None:
        if key is None or value is None:
            raise ValueError("the simulator publishes every register record with a key and a value")
        pending = self._pending.setdefault(topic, [])
        pending.append(RegisterRecord(key, value, self._offsets[topic]))
        self._offsets[topic] += 1
        if len(pending) >= self.FETCH:
            self._apply(topic)

    def flush(self, timeout: float | None = None) -> None:
        for topic in list(self._pending):
            self._apply(topic)

    def _apply(self, topic: str) -> None:
        records = self._pending.pop(topic, [])
        if records:
            self._loop.run_until_complete(self._replicator.apply({TopicPartition(topic, 0): records}))


def _store_master(street: Street, keys: PersonKeys, path: Path) -> tuple[StoreMaster, RegisterStore]:
    """The street's registers in the worker's register store under ``path``, and the worker's lookups over it."""
    settings = Settings(data_dir=path)
    store = RegisterStore(path / "registers")

    async def refuse(why: Any, record: Any) -> None:
        raise RuntimeError(f"the simulator's register record at offset {record.offset} was rejected: {why}")

    replicator = RegisterReplicator(settings=settings, store=store, keys=keys, reject=refuse)
    loop = asyncio.new_event_loop()
    try:
        publish_master_data(street, producer=_RegisterFeed(replicator, loop), topic=settings.kafka.topic)
    finally:
        loop.close()
    return StoreMaster(store), store


@dataclass
class _Clock:
    """Nanoseconds per phase."""

    ns: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*PHASES, "encode", "gc"), 0))


def _line(finding: Finding, event: EnrichedEvent, key: bytes, value: bytes) -> str:
    """One finding as a line of the determinism fingerprint: what it is about, and hashes of its record's key
    (the alert fingerprint) and value (the ``FindingRecord`` JSON, event included)."""
    record = hashlib.sha256(key + b"\n" + value).hexdigest()[:16]
    return (f"{event.event_id} {finding.rule_id} v{finding.rule_version} {finding.severity.value} "
            f"resolves={int(finding.resolves)} scope={finding.scope or '-'} subject={finding.subject or '-'} {record}")


def _chunks(street: Street, *, seed: int, events: int, chunk_records: int) -> Iterator[list[bytes]]:
    """The day's uploads as published (JSON bytes), ``chunk_records`` at a time; made outside the timers."""
    batches = generate_day(street, seed=seed, events=events, batch_events=50, batch_seconds=60.0)
    while chunk := list(islice(batches, chunk_records)):
        yield [b.model_dump_json().encode() for b in chunk]


def run_engine_bench(
    residents: int = 100_000,
    events: int = 200_000,
    *,
    seed: int = 7,
    chunk_records: int = 1_000,
    fingerprints: bool = False,
    street: Street | None = None,
    profiler: cProfile.Profile | None = None,
    state: Literal["memory", "table", "offheap"] = "memory",
    registers: Literal["memory", "store"] = "memory",
    take_events: int = 20,
) -> dict[str, Any]:
    """Time the engine over ``events`` simulated events against ``residents`` residents; the figures as a dict.

    ``fingerprints`` adds the list of finding lines (``fingerprints``) to the result; ``street`` reuses a street
    already built with ``seed`` and ``residents``; ``profiler`` is enabled around the timed phases only.
    """
    t_setup = time.perf_counter()
    street = street if street is not None else build_street(seed=seed, residents=residents)
    keys = PersonKeys(secret=SECRET)
    scratch = (tempfile.TemporaryDirectory(prefix="bench-engine-")
               if state == "offheap" or registers == "store" else None)
    register_store: RegisterStore | None = None
    master: MasterData
    if registers == "store" and scratch is not None:
        master, register_store = _store_master(street, keys, Path(scratch.name))
    else:
        master = memory_master(street, keys)
    enricher = Enricher(master=master, keys=keys)
    table: _MemoryTable | _OffHeapTable | None = (
        _MemoryTable() if state == "table"
        else _OffHeapTable(Path(scratch.name) / "rule-state") if state == "offheap" and scratch else None)
    view = RecordView(table) if table is not None else None
    engine = Engine(load_catalogue(),
                    states=lambda rule: table_state(view, rule) if view is not None else MemoryState())
    checkpoints = street.checkpoints
    setup_s = time.perf_counter() - t_setup
    gc.collect()
    gc.freeze()  # the registers are the benchmark's long-lived heap; the worker keeps them in RocksDB
    gc_was_enabled = gc.isenabled()
    gc.disable()  # collected between chunks instead (gc_s): otherwise a chunk's phase pays for the whole heap

    clock = _Clock()
    ns = clock.ns
    perf = time.perf_counter_ns
    lateness = engine.lateness
    n_events = n_records = 0
    by_rule: Counter[str] = Counter()
    lines: list[str] = []
    findings_hash = hashlib.sha256()
    enriched_hash = hashlib.sha256()
    watermark: datetime | None = None
    ticked: datetime | None = None
    confirmed: datetime | None = None
    late = 0
    try:
        for raws in _chunks(street, seed=seed, events=events, chunk_records=chunk_records):
            if profiler is not None:
                profiler.enable()
            t0 = perf()
            decoded = [decode_batch(raw) for raw in raws]
            t1 = perf()
            batch_events: list[Event] = []
            for d in decoded:
                if not isinstance(d, DecodedBatch) or d.rejected:
                    raise RuntimeError("the simulator's upload was rejected by the decoder")
                batch_events.extend(d.events)
            n_records += len(raws)
            n_events += len(batch_events)

            t2 = perf()
            enriched = [enricher.enrich(ev) for ev in batch_events]
            t3 = perf()
            found: list[tuple[Finding, EnrichedEvent]] = []
            routed: list[tuple[list[tuple[Family, str]], EnrichedEvent]] = []
            for e in enriched:
                found.extend((f, e) for f in engine.per_event(e))
                routed.append((engine.routes(e), e))
            t4 = perf()
            for n, (routes, e) in enumerate(routed, 1):
                at = e.event_time
                if watermark is not None and at < watermark - lateness:
                    late += 1
                else:
                    for family, _key in routes:
                        found.extend((f, e) for f in engine.judge(family, e))
                if watermark is None or at > watermark:
                    watermark = at
                if ticked is None or watermark - ticked >= TICK_EVERY:
                    ticked = watermark
                    for f in engine.tick(watermark, checkpoints):
                        place, _ = enricher.place_of(f.subject.removeprefix("checkpoint:"), None)
                        found.append((f, silence_event(f, place, watermark)))
                if confirmed is None or watermark - confirmed >= CONFIRM_EVERY:
                    confirmed = watermark
                    found.extend(engine.confirm(watermark))
                if view is not None and n % take_events == 0:
                    view.flush()
            if view is not None:
                view.flush()
            t5 = perf()
            records = [to_record(f, e, detected_at=DETECTED_AT) for f, e in found]
            wire = [(fingerprint_of(r).encode(), r.model_dump_json().encode()) for r in records]
            t6 = perf()
            if profiler is not None:
                profiler.disable()
            dumped = [e.model_dump_json() for e in enriched]
            t7 = perf()
            gc.collect(1)  # the young generations: what a chunk made; the old heap is the run's state
            ns["gc"] += perf() - t7

            ns["decode"] += t1 - t0
            ns["enrich"] += t3 - t2
            ns["per_event"] += t4 - t3
            ns["stateful"] += t5 - t4
            ns["finding_record"] += t6 - t5
            ns["encode"] += t7 - t6
            for raw in dumped:
                enriched_hash.update(raw.encode())
            for (f, e), (key, value) in zip(found, wire, strict=True):
                by_rule[f.rule_id] += 1
                line = _line(f, e, key, value)
                findings_hash.update(line.encode() + b"\n")
                if fingerprints:
                    lines.append(line)
    finally:
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()

    phases = {name: _figure(ns[name], n_events) for name in (*PHASES, "encode")}
    engine_ns = sum(ns[name] for name in PHASES)
    result: dict[str, Any] = {
        "config": {"residents": residents, "events": events, "seed": seed, "chunk_records": chunk_records,
                   "batch_events": 50, "batch_seconds": 60.0, "state": state, "registers": registers,
                   **({"take_events": take_events} if state == "table" else {})},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "events": n_events,
        "records": n_records,
        "late_events": late,
        "setup_s": round(setup_s, 2),
        "phases": phases,
        "engine_s": round(engine_ns / 1e9, 4),
        "engine_us_per_event": round(engine_ns / 1e3 / max(n_events, 1), 3),
        "engine_eps": round(n_events / (engine_ns / 1e9)) if engine_ns else 0,
        "encode_eps": phases["encode"]["eps"],
        "gc_s": round(ns["gc"] / 1e9, 3),
        "findings": sum(by_rule.values()),
        "findings_by_rule": dict(sorted(by_rule.items())),
        "findings_digest": findings_hash.hexdigest(),
        "enriched_digest": enriched_hash.hexdigest(),
    }
    result["rss_mb"] = {"end": round(_rss_mb("VmRSS"), 1), "peak": round(_rss_mb("VmHWM"), 1)}
    if table is not None:  # what the worker's rule-state table holds at the end (with offheap, on disk)
        result["state_table"] = {
            "keys": len(table), "bytes": sum(len(k) + len(v) for k, v in table.items()),
            "by_bundle": dict(Counter(k.split(b"|", 1)[0].decode() for k in table)),
        }
    if fingerprints:
        result["fingerprints"] = lines
    if register_store is not None:
        register_store.close()
    if scratch is not None:
        scratch.cleanup()
    return result


def _rss_mb(field: str) -> float:
    """This process's resident set (``VmRSS``) or its high-water mark (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _figure(ns: int, events: int) -> dict[str, float]:
    return {
        "seconds": round(ns / 1e9, 4),
        "us_per_event": round(ns / 1e3 / max(events, 1), 3),
        "eps": round(events / (ns / 1e9)) if ns else 0,
    }


def report(result: dict[str, Any]) -> str:
    """The figures as a few lines for the terminal."""
    cfg = result["config"]
    out = [f"engine alone: {result['events']:,} events in {result['records']:,} uploads, "
           f"{cfg['residents']:,} residents, registers in {cfg['registers']}, {cfg['state']} state "
           f"(setup {result['setup_s']:.1f} s, not timed)"]
    for name, fig in result["phases"].items():
        extra = "   (not in engine_eps)" if name not in PHASES else ""
        out.append(f"  {name:<15} {fig['us_per_event']:>8.2f} µs/event {fig['eps']:>12,} events/s{extra}")
    out.append(f"  {'engine':<15} {result['engine_us_per_event']:>8.2f} µs/event {result['engine_eps']:>12,} events/s"
               f"   engine_eps")
    out.append(f"  (garbage collection between chunks: {result['gc_s']:.2f} s, not in engine_eps)")
    out.append(f"findings: {result['findings']:,} {result['findings_by_rule']}")
    out.append(f"process RSS at the end {result['rss_mb']['end']:,.0f} MB, peak {result['rss_mb']['peak']:,.0f} MB "
               f"(the street's registers are held in memory here, whichever the lookups read)")
    if "state_table" in result:
        st = result["state_table"]
        out.append(f"rule-state table at the end: {st['keys']:,} keys, {st['bytes'] / 1e6:,.1f} MB of keys and values "
                   f"{st['by_bundle']}")
    out.append(f"findings digest {result['findings_digest'][:16]}, enriched digest {result['enriched_digest'][:16]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gridwatch bench-engine", description=__doc__.split("\n", 1)[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--residents", type=int, default=100_000, help="residents in the registers (default 100,000)")
    p.add_argument("--events", type=int, default=200_000, help="events to run through the engine (default 200,000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--state", choices=("memory", "table", "offheap"), default="memory",
                   help="rule state in memory (the rules alone), or the worker's: JSON in a table, flushed per take "
                        "(table: in a dict, as Faust's in-memory store; offheap: in the worker's RocksDB store)")
    p.add_argument("--registers", choices=("memory", "store"), default="memory",
                   help="what enrichment looks up: the registers in memory (the engine alone), or the worker's "
                        "RocksDB register store, filled as a worker loads the register topics")
    p.add_argument("--profile", type=Path, default=None,
                   help="profile the timed phases with cProfile, stats to this file (timings are then inflated)")


def run_from_args(args: argparse.Namespace) -> int:
    if args.profile is not None:
        profiler = cProfile.Profile()
        result = run_engine_bench(args.residents, args.events, seed=args.seed, profiler=profiler, state=args.state,
                                  registers=args.registers)
        profiler.dump_stats(str(args.profile))
    else:
        result = run_engine_bench(args.residents, args.events, seed=args.seed, state=args.state,
                                  registers=args.registers)
    print(report(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
