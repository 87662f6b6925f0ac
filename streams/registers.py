"""The registers, replicated into every worker from their compacted topics.

Each worker reads every partition of the register topics (residents,
compounds, checkpoints, quarantine orders, risk areas, visitors, the two
upstream registers' person records) with a group-less
consumer and keeps them in a local RocksDB (rocksdict), together with the
offsets it has applied, written in one atomic batch. The compacted topics are
the changelog: a restarted worker resumes from its stored offsets, a new one
rebuilds from the start, and the events agent waits until the registers have
caught up with the topics' ends at start-up, so no event is judged against a
half-loaded register (a flood of false "unregistered person" alerts).

Why not Faust GlobalTables: with them, a worker restarted on its RocksDB
state under load stopped consuming for good after a few thousand events
(faust-streaming 0.15.3; reproduced by the benchmark, not without tables),
and they load a million residents one Faust record at a time.

Every worker validates every register record, so a bad record is
dead-lettered by each worker that reads it (the dead letter carries topic,
partition and offset, which identify the repeats).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, TypeAdapter
from rocksdict import Rdict, WriteBatch

from schemas import Checkpoint, Compound, PersonRecord, QuarantineOrder, RegisterName, Resident, RiskArea, Visitor
from streams import rocks
from streams.clients import aiokafka
from streams.codec import Rejected, decode_record, safe_error
from streams.master import PERSON_REGISTERS, merge_risk, person_record_key, register_key, store_key, visitor_key
from streams.memo import ByContent
from streams.metrics import MASTER_UPDATES, RECORDS_CONSUMED, WORKER_READY
from streams.privacy import PersonKeys
from streams.settings import Settings

log = logging.getLogger(__name__)
RISK_HISTORY = TypeAdapter(tuple[RiskArea, ...])

# logical topic -> (key prefix in the store, model)
REGISTERS: dict[str, tuple[bytes, type[BaseModel]]] = {
    "residents": (b"r|", Resident),
    "compounds": (b"m|", Compound),
    "checkpoints": (b"c|", Checkpoint),
    "quarantine-orders": (b"q|", QuarantineOrder),
    "risk-areas": (b"a|", RiskArea),
    "visitors": (b"v|", Visitor),
    "person-records": (b"p|", PersonRecord),
}
SETTLE_TIMEOUT_S = 10.0
"""How long ``settled`` waits for the store; beyond it the caller judges on what the store holds."""
CLOCK_SKEW_S = 2.0
"""Producer clocks may run this far ahead of the worker's and ``settled`` still be exact."""
_MAX_SMALL = 50_000
"""Keys remembered per small register before the memory is cleared (a register of thousands never gets there)."""
_OFFSET = b"o|"
_STAMP = b"s|person-keys"
_DWELLING = b"d|"
"""Residents per dwelling, derived from the residents register: ``d|<dwelling id>`` -> ``<count>|<compound id>``.

Kept by the replicator in the same atomic batch as the resident records and
their offsets, so the count never drifts from the register; a point lookup on
the hot path instead of a scan over a million residents.
"""


def _dwelling_value(raw: bytes | None) -> tuple[int, str]:
    if raw is None:
        return 0, ""
    count, _, compound = raw.decode().partition("|")
    return int(count), compound


class RegisterStore:
    """Local RocksDB of the registers and of the offsets applied; values are validated JSON."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(path), options=rocks.options())
        self._versions: dict[bytes, int] = {}  # per key prefix (register): bumped by every write to it

    def version(self, prefix: bytes) -> int:
        """Changes whenever a record under ``prefix`` is written: what a reader's cache of that register checks."""
        return self._versions.get(prefix, 0)

    def get(self, prefix: bytes, key: str) -> bytes | None:
        value: bytes | None = self._db.get(prefix + key.encode())
        return value

    def values(self, prefix: bytes) -> list[bytes]:
        """Every value under ``prefix``: for small registers only (checkpoints), never per event."""
        out: list[bytes] = []
        for key, value in self._db.items(from_key=prefix):
            if not (isinstance(key, bytes) and key.startswith(prefix)):
                break
            out.append(bytes(value))  # raw mode: values are bytes
        return out

    def get_raw(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def offset(self, topic: str, partition: int) -> int | None:
        raw = self._db.get(_OFFSET + f"{topic}|{partition}".encode())
        return int(raw) if raw is not None else None

    def apply(self, puts: dict[bytes, bytes | None], offsets: dict[tuple[str, int], int]) -> None:
        """Records and the offsets they advance to, atomically: a crash replays, never skips."""
        batch = WriteBatch(raw_mode=True)
        for key, value in puts.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        for (topic, partition), off in offsets.items():
            batch.put(_OFFSET + f"{topic}|{partition}".encode(), str(off).encode())
        self._db.write(batch)
        for prefix in {key[:2] for key in puts}:  # after the write: a reader that cached before it re-reads
            self._versions[prefix] = self._versions.get(prefix, 0) + 1

    def keyed_by(self, stamp: str) -> bool:
        """Whether the person registers here were keyed under the secret ``stamp`` names (``PersonKeys.stamp``);
        not if the store has noted none (new, or from before stamps: it is rebuilt, which costs a new one
        nothing)."""
        return self.get_raw(_STAMP) == stamp.encode()

    def rebuild(self, stamp: str) -> None:
        """Forget every record and offset (the replicator then reads the registers from the start), keyed by
        ``stamp`` from now on."""
        keys = list(self._db.keys())  # raw mode: bytes
        batch = WriteBatch(raw_mode=True)
        for key in keys:
            batch.delete(key)
        batch.put(_STAMP, stamp.encode())
        self._db.write(batch)
        self._versions = {prefix: n + 1 for prefix, n in self._versions.items()}

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True, slots=True)
class RegisterRecord:
    """What ``RegisterReplicator.apply`` reads of a consumed record (aiokafka's ``ConsumerRecord`` has these and
    more): for feeding it without a broker, as the engine benchmark and the tests do."""

    key: bytes | None
    value: bytes | None
    offset: int


class RegisterReplicator:
    """Reads every register partition into the store; ``caught_up`` is set once at the start-up ends."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: RegisterStore,
        keys: PersonKeys,
        reject: Callable[[Rejected, Any], Awaitable[None]],
        on_registered: Callable[[str, Resident, int], Awaitable[None]] | None = None,
    ) -> None:
        """``on_registered(person key, resident, offset)`` runs for each resident record applied after start-up."""
        self.on_registered = on_registered
        self._settings = settings
        self._store = store
        self._keys = keys
        self._reject = reject
        self.caught_up = asyncio.Event()
        self._topics = {settings.kafka.topic(logical): logical for logical in REGISTERS}
        self._consumer: AIOKafkaConsumer | None = None
        self._applied: dict[TopicPartition, int] = {}  # next offset, per partition, that the store lacks
        self._progress = asyncio.Condition()
        self._ends: dict[str, tuple[float, dict[TopicPartition, int]]] = {}  # logical -> (asked at, ends)

    def _key_of(self, logical: str, record: Any) -> str:
        if logical in PERSON_REGISTERS:
            return store_key(logical, register_key(record), self._keys)
        if logical == "compounds":
            return str(record.compound_id)
        if logical == "checkpoints":
            return str(record.checkpoint_id)
        return str(record.division_code)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **aiokafka(self._settings.kafka),
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        try:
            tps: list[TopicPartition] = []
            for topic in self._topics:
                parts = consumer.partitions_for_topic(topic) or set()
                if not parts:
                    await consumer._client.force_metadata_update()
                    parts = consumer.partitions_for_topic(topic) or set()
                tps.extend(TopicPartition(topic, p) for p in sorted(parts))
            consumer.assign(tps)
            stamp = self._keys.stamp()
            if not self._store.keyed_by(stamp):  # a rotation: every person key in the store is an old one
                log.info("person-key secret changed (now %s): register store rebuilt from the topics",
                         stamp.split(":", 1)[0])
                self._store.rebuild(stamp)
            for tp in tps:
                stored = self._store.offset(tp.topic, tp.partition)
                self._applied[tp] = stored or 0
                if stored is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, stored)
            self._consumer = consumer
            ends = await consumer.end_offsets(tps)
            await self._check(consumer, ends)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                if batches:
                    await self.apply(batches)
                if not self.caught_up.is_set():
                    await self._check(consumer, ends)
        finally:
            self._consumer = None
            await consumer.stop()

    async def settled(self, logical: str, published_at: float, timeout: float = SETTLE_TIMEOUT_S) -> bool:
        """Wait until the store holds every record of ``logical`` published up to ``published_at`` (epoch s).

        For an agent that reads a register topic itself and looks up other
        records of it in the store (the register check compares a person's
        county record with their provincial one): the store lags the topic by
        moments, and a record published just before the one in hand would be
        missed. The topic's end offsets, asked of the broker once and reused
        for every record published before they were asked (within
        ``CLOCK_SKEW_S`` of producer clocks), bound what the store must hold.
        False if the store has not got there within ``timeout``, or if the
        replicator is not running.
        """
        consumer = self._consumer
        if consumer is None:
            return False
        asked_at, ends = self._ends.get(logical, (0.0, {}))
        if not ends or published_at + CLOCK_SKEW_S >= asked_at:
            asked_at = time.time()
            tps = [tp for tp in self._applied if self._topics[tp.topic] == logical]
            ends = await consumer.end_offsets(tps)
            self._ends[logical] = (asked_at, ends)

        def there() -> bool:
            return all(self._applied.get(tp, 0) >= end for tp, end in ends.items())

        try:
            async with self._progress:
                await asyncio.wait_for(self._progress.wait_for(there), timeout)
        except TimeoutError:
            return False
        return True

    async def _check(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return
        self.caught_up.set()
        WORKER_READY.labels(component="registers").set(1)
        log.info("registers caught up with %d partitions", len(ends))

    async def apply(self, batches: dict[TopicPartition, list[Any]]) -> None:
        """One fetch's records (``RegisterRecord``'s fields each), validated, keyed and written with their offsets
        in one batch. The consumer loop calls it; so do the engine benchmark and the tests, which have no broker."""
        puts: dict[bytes, bytes | None] = {}
        offsets: dict[tuple[str, int], int] = {}
        counts: dict[tuple[str, str], int] = {}
        dwellings: dict[bytes, tuple[int, str]] = {}
        registered: list[tuple[str, Resident, int]] = []
        for tp, msgs in batches.items():
            logical = self._topics[tp.topic]
            prefix, model = REGISTERS[logical]
            RECORDS_CONSUMED.labels(topic=tp.topic).inc(len(msgs))
            for msg in msgs:
                offsets[(tp.topic, tp.partition)] = msg.offset + 1
                try:
                    if msg.value is None:  # tombstone: the record key names the entry
                        if msg.key is not None:
                            gone = (store_key(logical, msg.key.decode(), self._keys).encode()
                                    if logical in PERSON_REGISTERS else msg.key)
                            if logical == "residents":
                                self._recount(puts, dwellings, prefix + gone, None)
                            puts[prefix + gone] = None
                            counts[(logical, "delete")] = counts.get((logical, "delete"), 0) + 1
                        continue
                    record = decode_record(model, msg.value)
                    if isinstance(record, Rejected):
                        await self._reject(record, msg)
                        continue
                    key = prefix + self._key_of(logical, record).encode()
                    if logical == "risk-areas":
                        old = puts.get(key, self._store.get(prefix, record.division_code))  # type: ignore[attr-defined]
                        history = RISK_HISTORY.validate_json(old) if old else ()
                        puts[key] = RISK_HISTORY.dump_json(merge_risk(history, record))  # type: ignore[arg-type]
                    else:
                        if logical == "residents":
                            self._recount(puts, dwellings, key, record)  # type: ignore[arg-type]
                            registered.append((key[len(prefix):].decode(), record, msg.offset))  # type: ignore[arg-type]
                        puts[key] = msg.value
                    counts[(logical, "upsert")] = counts.get((logical, "upsert"), 0) + 1
                except Exception as exc:  # one bad record must not stop the registers
                    why = safe_error(exc)
                    log.error("register record %s[%s]@%s failed: %s", tp.topic, tp.partition, msg.offset, why)
                    await self._reject(Rejected("processing_error", why), msg)
        for dkey, (count, compound) in dwellings.items():
            puts[dkey] = f"{count}|{compound}".encode() if count > 0 else None
        await asyncio.get_running_loop().run_in_executor(None, self._store.apply, puts, offsets)
        async with self._progress:
            self._applied.update((TopicPartition(topic, part), nxt) for (topic, part), nxt in offsets.items())
            self._progress.notify_all()
        for (logical, op), n in counts.items():
            MASTER_UPDATES.labels(table=logical, op=op).inc(n)
        if self.on_registered is not None and self.caught_up.is_set():  # not for the bulk load at start-up
            for person_key, resident, offset in registered:
                try:
                    await self.on_registered(person_key, resident, offset)
                except Exception as exc:
                    log.error("registration hook failed: %s", safe_error(exc))


    def _recount(
        self,
        puts: dict[bytes, bytes | None],
        dwellings: dict[bytes, tuple[int, str]],
        key: bytes,
        new: Resident | None,
    ) -> None:
        """Move one resident's count from the dwelling of the record it replaces to the new one.

        The old record is the one pending in this batch, else the stored one:
        a resident who moves, or is tombstoned, leaves their old dwelling.
        """
        old_raw = puts[key] if key in puts else self._store.get_raw(key)
        if old_raw is not None:
            old = Resident.model_validate_json(old_raw)
            self._add_to_dwelling(dwellings, old.dwelling_id, old.compound_id, -1)
        if new is not None:
            self._add_to_dwelling(dwellings, new.dwelling_id, new.compound_id, +1)

    def _add_to_dwelling(
        self, dwellings: dict[bytes, tuple[int, str]], dwelling_id: str, compound: str, n: int
    ) -> None:
        dkey = _DWELLING + dwelling_id.encode()
        count, known = dwellings[dkey] if dkey in dwellings else _dwelling_value(self._store.get_raw(dkey))
        dwellings[dkey] = (max(count + n, 0), compound if n > 0 else known)


class StoreMaster:
    """MasterData (``streams.master``) over the local register store.

    The small registers (checkpoints, compounds, risk areas) are kept decoded
    per key until their register changes, so the hot path does not read and
    decode a checkpoint per event; residents and quarantine orders are read
    from the store on each lookup and decoded only when their bytes are new
    (``ByContent``: the same people pass the gates all day).
    """

    def __init__(self, store: RegisterStore) -> None:
        self._store = store
        self._decoded: ByContent[bytes, Any] = ByContent()
        self._small: dict[bytes, tuple[int, dict[str, Any]]] = {}  # prefix -> (store version, key -> value)

    def _lookup(self, prefix: bytes, key: str, decode: Callable[[bytes], Any]) -> Any:
        """A small register's record, from memory until the store writes to that register again.

        Checkpoints and compounds are looked up for every event; a RocksDB get
        each was a tenth of the events agent's time. Only for registers of at
        most thousands of records (checkpoints, compounds, risk areas).
        """
        version = self._store.version(prefix)  # read before the store: a write after it invalidates
        cached = self._small.get(prefix)
        if cached is None or cached[0] != version:
            cached = self._small[prefix] = (version, {})
        values = cached[1]
        if key in values:
            return values[key]
        if len(values) >= _MAX_SMALL:  # misses are remembered too: unknown ids from bad input must not grow it
            values.clear()
        value = values[key] = self._cached(self._store.get(prefix, key), decode)
        return value

    def _cached(self, raw: bytes | None, decode: Callable[[bytes], Any]) -> Any:
        if raw is None:
            return None
        hit = self._decoded.get(raw)
        if hit is None:
            hit = decode(raw)
            self._decoded.remember(raw, hit)
        return hit

    def resident(self, person_key: str) -> Resident | None:
        found: Resident | None = self._cached(self._store.get(b"r|", person_key), Resident.model_validate_json)
        return found

    def checkpoints(self) -> list[Checkpoint]:
        """All checkpoints (a scan: for the silent-checkpoint tick, not the per-event path)."""
        return [self._cached(raw, Checkpoint.model_validate_json) for raw in self._store.values(b"c|")]

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        found: Checkpoint | None = self._lookup(b"c|", checkpoint_id, Checkpoint.model_validate_json)
        return found

    def compound(self, compound_id: str) -> Compound | None:
        found: Compound | None = self._lookup(b"m|", compound_id, Compound.model_validate_json)
        return found

    def quarantine(self, person_key: str) -> QuarantineOrder | None:
        found: QuarantineOrder | None = self._cached(self._store.get(b"q|", person_key),
                                                     QuarantineOrder.model_validate_json)
        return found

    def dwelling_size(self, dwelling_id: str) -> int:
        return _dwelling_value(self._store.get(_DWELLING, dwelling_id))[0]

    def dwelling_compound(self, dwelling_id: str) -> str | None:
        count, compound = _dwelling_value(self._store.get(_DWELLING, dwelling_id))
        return compound if count > 0 else None

    def visitor(self, person_key: str, compound_id: str) -> Visitor | None:
        raw = self._store.get(b"v|", visitor_key(person_key, compound_id))
        return Visitor.model_validate_json(raw) if raw is not None else None

    def person_record(self, register: RegisterName, person_key: str) -> PersonRecord | None:
        raw = self._store.get(b"p|", person_record_key(register, person_key))
        return PersonRecord.model_validate_json(raw) if raw is not None else None

    def risk_history(self, division_code: str) -> tuple[RiskArea, ...]:
        found: tuple[RiskArea, ...] | None = self._lookup(b"a|", division_code, RISK_HISTORY.validate_json)
        return found or ()
