"""The judge agent: stateful rules for the ``rule-input`` records of the partitions it owns.

The events agent judges the partitions this worker owns in-process; what
reaches ``rule-input`` are the events another worker's events agent routed
here (or records left from before a restart or a rebalance). Each record's
items are judged by the worker's one ``PartitionJudge`` (watermark, lateness,
ticks, held sightings: ``streams.judging``), the state written back once, to
the record's partition, before anything is awaited, and the findings handed
to the alert book (``FindingDelivery``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from schemas import EnrichedEvent
from schemas.internal import RuleInputBatch
from streams.agents.acking import handled
from streams.agents.context import Pipeline
from streams.agents.delivery import FindingDelivery
from streams.agents.tables import adopt, partition_of
from streams.codec import Rejected, safe_error
from streams.judging import Found, Judged, OnPartition, PartitionJudge
from streams.metrics import HANDOFFS, LATE_EVENTS, RECORDS_CONSUMED
from streams.rules.base import Finding

log = logging.getLogger(__name__)


def silence_event(finding: Finding, checkpoint_place: Any, at: datetime) -> EnrichedEvent:
    """The synthetic event a silence is reported on: the checkpoint's place at the watermark."""
    return EnrichedEvent(
        event_id=f"silence:{checkpoint_place.checkpoint_id}:{at.astimezone(UTC):%Y%m%dT%H%M%S}",
        event_type="checkpoint_silence",
        event_time=at,
        place=checkpoint_place,
    )


def partition_judge(p: Pipeline, on: OnPartition) -> PartitionJudge:
    """The worker's one ``PartitionJudge``, its silences those of the gates on each partition."""
    partitions = p.settings.kafka.partitions

    def silences(part: int, now: datetime) -> list[Found]:
        checkpoints = [cp for cp in p.master.checkpoints() if partition_of(cp.checkpoint_id, partitions) == part]
        out = []
        for finding in p.engine.tick(now, checkpoints):
            place, _ = p.enricher.place_of(finding.subject.removeprefix("checkpoint:"), None)
            out.append((finding, silence_event(finding, place, now)))
        return out

    return PartitionJudge(p.engine, silences, sources=p.settings.kafka.partitions, on=on)


def report(judged: Judged, where: str) -> None:
    """Count the late events and log the clock failures of one judged hand-over (items' failures are the caller's)."""
    for family, n in judged.late.items():
        LATE_EVENTS.labels(family=family).inc(n)
    for what, exc in judged.clock_failures:
        log.error("%s on %s failed: %s", what, where, safe_error(exc))


def register(p: Pipeline, judge: PartitionJudge, deliver: FindingDelivery) -> None:
    source = p.topics["rule-input"]
    name = source.get_topic_name()

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()
        async for event in handled(stream):
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            batch = await p.dead_letter.decoded(RuleInputBatch, msg)
            if batch is None:
                continue
            part = msg.partition
            HANDOFFS.labels(hop="rule-input", path="topic").inc()
            links: dict[str, tuple[str, ...]] = {}
            for item in batch.items:
                if item.links:
                    adopt(p.rule_view, item.event.subject_key, item.links)
                    links[item.event.subject_key] = item.links
            judged = judge.judge(part, ((item.family, item.event) for item in batch.items), batch.sources)
            p.rule_view.flush(partition=part)  # one changelog write per changed bundle, before any await
            report(judged, f"{name}[{part}]")
            for i, exc in judged.failed:
                why = safe_error(exc)
                log.error("item %d of %s[%s]@%s failed: %s", i, name, part, msg.offset, why)
                await p.dead_letter(Rejected("processing_error", why, i), msg)
            await deliver(((f, ev, batch.uploaded_at) for f, ev in judged.found), detected_at=datetime.now(UTC),
                          links=links)

    p.app.agent(source, name="gridwatch.judge")(process)
