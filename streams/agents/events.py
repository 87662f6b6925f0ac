"""The events agent: decode a terminal's upload, enrich each event, judge what needs no state.

Per record (one upload of many events) it produces one enriched batch, keyed
by the uploading terminal. Per-event rules run here; their findings go to the
``findings`` topic keyed by alert fingerprint. Events that stateful rules need
are routed to ``rule-input``, one record per destination partition per take,
on the partition of the key their state lives under (person, dwelling,
checkpoint). A bad event is dead-lettered alone; the rest of its batch goes on.

Records are taken many at a time and acked only once the sink feeder has
stored their enriched rows in ClickHouse; findings and routed events are sent
at once, so a ClickHouse write never delays an alert.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from schemas import EnrichedEvent
from schemas.common import SCHEMA_VERSION
from schemas.internal import FindingRecord
from streams.agents.context import Pipeline
from streams.agents.sink import SinkFeeder
from streams.agents.tables import partition_of
from streams.codec import Rejected, decode_batch, safe_error
from streams.engine import Family
from streams.findings import to_record
from streams.metrics import ENRICHMENT_MISSES, EVENTS_CONSUMED, RECORDS_CONSUMED

log = logging.getLogger(__name__)
MAX_ITEMS = 200
"""Routed events per rule-input record: an enriched event is about 1 KB of JSON, Kafka's default record limit 1 MB."""


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def enriched_batch_json(batch_id: str, source: str, events: list[str]) -> bytes:
    """An ``EnrichedBatch`` record from its events' JSON, each serialised once for every use."""
    return (f'{{"schema_version":{SCHEMA_VERSION},"batch_id":{_json(batch_id)},"source":{_json(source)},'
            f'"events":[{",".join(events)}]}}').encode()


class _Take:
    """What one take produces besides rows: findings, and events routed per partition.

    Routed events are kept as their JSON (made once per event, shared with the
    enriched batch), and each ``rule-input`` record is assembled from it: no
    event is serialised twice.
    """

    def __init__(self) -> None:
        self.findings: list[FindingRecord] = []
        # per partition: (sequence, event time, item JSON)
        self.routed: dict[int, list[tuple[int, datetime, str]]] = {}
        self.latest_at_checkpoint: dict[str, tuple[int, datetime, str]] = {}
        self.uploaded_at: float | None = None
        self._seq = 0

    def route(self, family: Family, key: str, event: EnrichedEvent, partitions: int, raw: str | None = None) -> None:
        """``raw``: the event's JSON if already made."""
        self._seq += 1
        if family == "checkpoint":  # silence needs only each checkpoint's latest event of the take
            seen = self.latest_at_checkpoint.get(key)
            if seen is not None and seen[1] > event.event_time:
                return
        item = f'{{"family":"{family}","key":{_json(key)},"event":{raw or event.model_dump_json()}}}'
        entry = (self._seq, event.event_time, item)
        if family == "checkpoint":
            self.latest_at_checkpoint[key] = entry
            return
        self.routed.setdefault(partition_of(key, partitions), []).append(entry)

    def batches(self, partitions: int, watermark: datetime | None = None) -> list[tuple[int, bytes]]:
        """One ``RuleInputBatch`` record per partition, split every ``MAX_ITEMS`` items to stay well under
        Kafka's 1 MB record."""
        for key, entry in self.latest_at_checkpoint.items():
            self.routed.setdefault(partition_of(key, partitions), []).append(entry)
        tail = (f'"uploaded_at":{_json(self.uploaded_at)},'
                f'"watermark":{_json(watermark.isoformat() if watermark is not None else None)}}}')
        out = []
        for part, entries in self.routed.items():
            # In event-time order (then arrival): a take holds uploads of several source partitions, each a run of
            # minutes; sent in arrival order, the second run would find the judge's watermark past it and be skipped
            # as late (which is what happened to a checkpoint's latest event, and, with a backlog, to whole runs).
            items = [item for _, _, item in sorted(entries, key=lambda e: (e[1], e[0]))]
            for start in range(0, len(items), MAX_ITEMS):
                body = ",".join(items[start:start + MAX_ITEMS])
                out.append((part, f'{{"schema_version":{SCHEMA_VERSION},"items":[{body}],{tail}'.encode()))
        return out


class SourceWatermark:
    """The event time every active partition of the events topic has reached (the low watermark).

    A take holds runs of several partitions that are consumed unevenly (a
    backlog drains partition by partition), so the latest event time seen is
    no clock: judged against it, a partition behind the others would be late
    as a whole. The minimum over partitions is; a partition idle for
    ``idle_after`` seconds stops holding it back (a terminal offline at night).
    """

    def __init__(self, idle_after: float = 60.0) -> None:
        self._high: dict[int, tuple[datetime, float]] = {}
        self._idle_after = idle_after

    def see(self, partition: int, event_time: datetime) -> None:
        high = self._high.get(partition)
        self._high[partition] = (max(high[0], event_time) if high else event_time, time.monotonic())

    def low(self) -> datetime | None:
        now = time.monotonic()
        active = [t for t, seen in self._high.values() if now - seen <= self._idle_after]
        return min(active) if active else None


def register(p: Pipeline, feeder: SinkFeeder) -> None:
    source = p.topics["events"]
    enriched_topic = p.topics["enriched-events"]
    rule_input = p.topics["rule-input"]
    name = source.get_topic_name()
    partitions = p.settings.kafka.partitions
    engine = p.engine
    source_watermark = SourceWatermark()

    async def handle(msg: Any, take: _Take) -> list[EnrichedEvent]:
        if msg.value is None:
            await p.dead_letter(Rejected("schema_violation", "record has no value"), msg)
            return []
        decoded = decode_batch(msg.value)
        if isinstance(decoded, Rejected):
            await p.dead_letter(decoded, msg)
            return []
        for rejected in decoded.rejected:
            await p.dead_letter(rejected, msg)

        uploaded_at = msg.timestamp or None
        if uploaded_at and (take.uploaded_at is None or uploaded_at > take.uploaded_at):
            take.uploaded_at = uploaded_at
        enriched: list[EnrichedEvent] = []
        raws: list[str] = []
        detected_at = datetime.now(UTC)
        by_type: dict[str, int] = {}
        for i, ev in enumerate(decoded.events):
            by_type[ev.event_type] = by_type.get(ev.event_type, 0) + 1
            try:
                e = p.enricher.enrich(ev)
                findings = engine.per_event(e)
                routes = engine.routes(e)
            except Exception as exc:  # per event: dead-letter it, keep the batch going
                why = safe_error(exc)
                log.error("event %d of %s[%s]@%s failed: %s", i, name, msg.partition, msg.offset, why)
                await p.dead_letter(Rejected("processing_error", why, i), msg)
                continue
            for miss in e.misses:
                ENRICHMENT_MISSES.labels(lookup=miss).inc()
            enriched.append(e)
            raw = e.model_dump_json()
            raws.append(raw)
            take.findings.extend(to_record(f, e, detected_at=detected_at, uploaded_at=uploaded_at) for f in findings)
            for family, key in routes:
                take.route(family, key, e, partitions, raw)

        for event_type, n in by_type.items():
            EVENTS_CONSUMED.labels(topic=name, event_type=event_type).inc(n)
        if enriched:  # once per upload: the partition's high mark is the upload's latest event
            source_watermark.see(msg.partition, max(e.event_time for e in enriched))
            await p.publish(enriched_topic, enriched_batch_json(decoded.batch_id, decoded.source, raws),
                            key=decoded.source.encode())
        return enriched

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()  # judge no event against a half-loaded register
        cfg = p.settings.stream
        async for events in stream.noack_take(cfg.take_records, within=cfg.take_within):
            rows: list[EnrichedEvent] = []
            take = _Take()
            for event in events:
                msg = event.message
                try:
                    rows.extend(await handle(msg, take))
                except Exception as exc:  # never let one record stop the agent (Faust would ack and move on)
                    why = safe_error(exc)
                    log.error("record %s[%s]@%s failed: %s", name, msg.partition, msg.offset, why)
                    await p.dead_letter(Rejected("processing_error", why), msg)
            RECORDS_CONSUMED.labels(topic=name).inc(len(events))
            try:
                for record in take.findings:
                    await p.publish_finding(record)
                for part, value in take.batches(partitions, source_watermark.low()):
                    await p.publish(rule_input, value, partition=part)
            except Exception as exc:  # the agent must outlive it: the uploads go to dead letters for a replay
                why = safe_error(exc)
                log.error("routing a take of %d uploads failed: %s", len(events), why)
                for event in events:
                    await p.dead_letter(Rejected("processing_error", f"routing failed: {why}"), event.message)

            async def ack(taken: list[Any] = events) -> None:
                for event in taken:
                    await stream.ack(event)

            await feeder.add(rows, ack)

    p.app.agent(source, name="gridwatch.events")(process)
