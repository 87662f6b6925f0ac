"""The events agent: decode a terminal's upload, enrich each event, judge it, fold its findings.

Per record (one upload of many events) it produces one enriched batch, keyed
by the uploading terminal, and runs the per-event rules. Events that stateful
rules need belong to the partition of the key their state lives under
(person, dwelling, checkpoint): where this worker owns that partition (on one
worker, always) the take's events of it are judged here, in event-time order,
their state written to that partition's changelog; the others go to
``rule-input``, one record per partition per take, for the owner's judge
agent. Findings are folded into the alert book the same way
(``FindingDelivery``): in-process where owned, else through ``findings``. So
on one worker an event's alert is published by the agent that read the event.
A bad event is dead-lettered alone; the rest of its batch goes on.

Records are taken many at a time and acked only once the sink feeder has
stored their enriched rows in ClickHouse; alerts and routed events are sent
at once, so a ClickHouse write never delays an alert.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.types import TP

from schemas import EnrichedEvent
from schemas.common import SCHEMA_VERSION
from streams.agents.context import Pipeline
from streams.agents.delivery import Delivered, FindingDelivery, Ownership
from streams.agents.judge import report
from streams.agents.sink import SinkFeeder
from streams.agents.tables import adopt, partition_of
from streams.agents.take import takes
from streams.codec import Rejected, decode_batch, safe_error
from streams.engine import Family
from streams.judging import PartitionJudge
from streams.metrics import ENRICHMENT_MISSES, EVENTS_CONSUMED, FIELDS_REFUSED, HANDOFFS, RECORDS_CONSUMED
from streams.watermark import Marks, SourceWatermark

log = logging.getLogger(__name__)
MAX_ITEMS = 200
"""Routed events per rule-input record: an enriched event is about 1 KB of JSON, Kafka's default record limit 1 MB."""


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def enriched_batch_json(batch_id: str, source: str, events: list[str]) -> bytes:
    """An ``EnrichedBatch`` record from its events' JSON, each serialised once for every use."""
    return (f'{{"schema_version":{SCHEMA_VERSION},"batch_id":{_json(batch_id)},"source":{_json(source)},'
            f'"events":[{",".join(events)}]}}').encode()


@dataclass(frozen=True, slots=True)
class _Routed:
    """An event bound for a stateful family's partition, with where it came from (to dead-letter it)."""

    seq: int
    family: Family
    key: str
    event: EnrichedEvent
    raw: str
    """The event's JSON, made once and shared with the enriched batch."""
    message: Any
    index: int
    links: tuple[str, ...] = ()
    """The person's keys of before a rotation, still linked (``PersonKeys.links``): where their state is found."""

    def item(self) -> str:
        links = f',"links":{_json(self.links)}' if self.links else ""
        return f'{{"family":"{self.family}","key":{_json(self.key)}{links},"event":{self.raw}}}'


class _Take:
    """What one take produces besides rows: findings, and events routed per partition.

    Routed events are kept with their JSON (made once per event, shared with
    the enriched batch): a partition this worker owns is judged from the
    events themselves, the others get ``rule-input`` records assembled from
    the JSON, so no event is serialised twice.
    """

    def __init__(self) -> None:
        self.findings: list[Delivered] = []
        self.links: dict[str, tuple[str, ...]] = {}  # person key -> its keys of before a rotation, still linked
        self.routed: dict[int, list[_Routed]] = {}
        self.latest_at_checkpoint: dict[str, _Routed] = {}
        self.uploaded_at: float | None = None
        self._seq = 0
        self._sources: tuple[Marks, str] | None = None  # the take's marks and their JSON, made once per take

    def route(self, family: Family, key: str, event: EnrichedEvent, partitions: int, raw: str | None = None,
              message: Any = None, index: int = 0, person: tuple[int, tuple[str, ...]] | None = None) -> None:
        """``raw``: the event's JSON if already made; ``message`` and ``index``: its upload and place in it;
        ``person``: for the person family, the person's route and links (``Enricher.identity``): their state
        lives on the partition of the route, which a rotation of the person-key secret does not move."""
        self._seq += 1
        links = person[1] if person is not None and family == "person" else ()
        entry = _Routed(self._seq, family, key, event, raw or event.model_dump_json(), message, index, links)
        if family == "checkpoint":  # silence needs only each checkpoint's latest event of the take
            seen = self.latest_at_checkpoint.get(key)
            if seen is None or seen.event.event_time <= event.event_time:
                self.latest_at_checkpoint[key] = entry
            return
        part = person[0] % partitions if person is not None and family == "person" else partition_of(key, partitions)
        self.routed.setdefault(part, []).append(entry)

    def by_partition(self, partitions: int) -> dict[int, list[_Routed]]:
        """Each partition's events in event-time order (then arrival).

        A take holds uploads of several source partitions, each a run of
        minutes; in arrival order, the second run would find the judge's
        watermark past it and be skipped as late (which is what happened to a
        checkpoint's latest event, and, with a backlog, to whole runs).
        """
        for key, entry in self.latest_at_checkpoint.items():
            self.routed.setdefault(partition_of(key, partitions), []).append(entry)
        self.latest_at_checkpoint = {}
        return {part: sorted(entries, key=lambda e: (e.event.event_time, e.seq))
                for part, entries in self.routed.items()}

    def records(self, entries: list[_Routed], marks: Marks) -> list[bytes]:
        """``RuleInputBatch`` records of one partition's events, split every ``MAX_ITEMS`` to stay well under
        Kafka's 1 MB record. Only the last carries the marks: the judge moves a partition's watermark after a
        record's items, and the take's marks on the first record would make the rest of the take late."""
        out = []
        if self._sources is None or self._sources[0] is not marks:
            self._sources = (marks, json.dumps({str(p): [high.isoformat() if high is not None else None, holds]
                                                for p, (high, holds) in marks.items()}))
        sources = self._sources[1]
        for start in range(0, max(len(entries), 1), MAX_ITEMS):  # no entries: one record with the marks only
            last = start + MAX_ITEMS >= len(entries)
            body = ",".join(e.item() for e in entries[start:start + MAX_ITEMS])
            out.append(f'{{"schema_version":{SCHEMA_VERSION},"items":[{body}],'
                       f'"uploaded_at":{_json(self.uploaded_at)},"sources":{sources if last else "{}"}}}'.encode())
        return out


WATERMARK_EVERY_S = 0.5
"""How often a worker tells a rule partition it hands no events its marks (a record with no items)."""


def register(p: Pipeline, feeder: SinkFeeder, judge: PartitionJudge, deliver: FindingDelivery,
             ownership: Ownership, *, state_changelog: str) -> None:
    """Every hand-over carries this worker's marks per events partition (``streams.watermark``): a rule
    partition's watermark is the minimum over every events partition, whichever worker reads it."""
    source = p.topics["events"]
    enriched_topic = p.topics["enriched-events"]
    rule_input = p.topics["rule-input"]
    name = source.get_topic_name()
    owned_topics = (rule_input.get_topic_name(), state_changelog)
    partitions = p.settings.kafka.partitions
    engine = p.engine
    source_watermark = SourceWatermark()
    told: dict[int, float] = {}  # rule partition -> when this worker last told it its marks

    def drained(partition: int) -> bool:
        """Whether the consumer has read all of an events partition (its end offset known and reached)."""
        consumer = p.app.consumer
        tp = TP(name, partition)
        end = consumer.highwater(tp)
        position = consumer._read_offset.get(tp)  # type: ignore[attr-defined]  # seek: committed; then last read
        return end is not None and (end == 0 or (position is not None and position >= end))

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
        by_type: dict[str, int] = {}
        for i, ev in enumerate(decoded.events):
            by_type[ev.event_type] = by_type.get(ev.event_type, 0) + 1
            try:
                e = p.enricher.enrich(ev)
                if i in decoded.refused:  # the event goes on without the readings its contract refused
                    e = e.model_copy(update={"refused_fields": decoded.refused[i]})
                    for why in decoded.refused[i]:
                        FIELDS_REFUSED.labels(event_type=ev.event_type, field=why.split(":", 1)[0]).inc()
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
            take.findings.extend((f, e, uploaded_at) for f in findings)
            person = p.enricher.identity(ev) if e.subject_key else None
            if person is not None and person[1]:
                take.links[e.subject_key] = person[1]
            for family, key in routes:
                take.route(family, key, e, partitions, raw, msg, i, person)

        for event_type, n in by_type.items():
            EVENTS_CONSUMED.labels(topic=name, event_type=event_type).inc(n)
        if enriched:  # once per upload: the partition's high mark is the upload's latest event
            source_watermark.see(msg.partition, max(e.event_time for e in enriched))
            await p.publish(enriched_topic, enriched_batch_json(decoded.batch_id, decoded.source, raws),
                            key=decoded.source.encode())
        return enriched

    async def judge_take(take: _Take) -> None:
        """Owned partitions judged here (state pinned to each, before any await); the rest to ``rule-input``."""
        source_watermark.assign(ownership.assigned(name))
        marks = source_watermark.marks(drained)
        owned = ownership.partitions(*owned_topics)
        found = take.findings
        failed: list[tuple[_Routed, Exception]] = []
        remote: list[tuple[int, list[_Routed]]] = []
        for part, entries in take.by_partition(partitions).items():
            if part not in owned:
                remote.append((part, entries))
                continue
            for e in entries:
                if e.links:
                    adopt(p.rule_view, e.event.subject_key, e.links)
            judged = judge.judge(part, ((e.family, e.event) for e in entries), marks)
            p.rule_view.flush(partition=part)
            report(judged, f"partition {part}")
            found.extend((f, ev, take.uploaded_at) for f, ev in judged.found)
            failed.extend((entries[i], exc) for i, exc in judged.failed)
            HANDOFFS.labels(hop="rule-input", path="in_process").inc()
        for part in owned.difference(take.routed):  # an owned partition without events this take still ticks
            judged = judge.advance(part, marks)
            p.rule_view.flush(partition=part)
            report(judged, f"partition {part}")
            found.extend((f, ev, take.uploaded_at) for f, ev in judged.found)
        for entry, exc in failed:
            why = safe_error(exc)
            log.error("event %d of %s[%s]@%s failed: %s", entry.index, name, entry.message.partition,
                      entry.message.offset, why)
            await p.dead_letter(Rejected("processing_error", why, entry.index), entry.message)
        await deliver(found, detected_at=datetime.now(UTC), links=take.links)
        now = time.monotonic()
        for part, entries in remote:
            for value in take.records(entries, marks):
                await p.publish(rule_input, value, partition=part)
            told[part] = now
            HANDOFFS.labels(hop="rule-input", path="topic").inc()
        beat: list[bytes] | None = None  # one marks-only record, the same for every partition told
        for part in range(partitions):  # the others owned elsewhere hear this worker's marks all the same,
            if part not in owned and now - told.get(part, 0.0) >= WATERMARK_EVERY_S:  # or theirs would wait
                beat = beat or take.records([], marks)
                for value in beat:
                    await p.publish(rule_input, value, partition=part)
                told[part] = now

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()  # judge no event against a half-loaded register
        cfg = p.settings.stream
        batches = (takes(stream, cfg.take_records, cfg.take_within) if cfg.adaptive_take
                   else stream.noack_take(cfg.take_records, within=cfg.take_within))
        async for events in batches:
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
                await judge_take(take)
            except Exception as exc:  # the agent must outlive it: the uploads go to dead letters for a replay
                why = safe_error(exc)
                log.error("judging a take of %d uploads failed: %s", len(events), why)
                for event in events:
                    await p.dead_letter(Rejected("processing_error", f"judging failed: {why}"), event.message)

            async def ack(taken: list[Any] = events) -> None:
                for event in taken:
                    await stream.ack(event)

            await feeder.add(rows, ack)

    p.app.agent(source, name="gridwatch.events")(process)
