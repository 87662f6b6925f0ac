"""The judge agent: stateful rules, on the partition their state's key lives on.

It reads ``rule-input`` (events routed by the events agent) and runs each
event's family of stateful rules with their state in the ``rule-state``
table. Event time rules: each partition keeps a watermark (the low watermark
the events agent sends with each record: the event time all its active
source partitions have reached); an event older than the watermark minus the catalogue's lateness
is counted and not judged by stateful rules (per-event rules already judged
it), since remembering it would rewrite history other events were judged
against. The watermark is also the clock of ``silent_checkpoint``: once a
minute of event time, the checkpoints of this partition are ticked, inside the
processing of a record, so the rule's state writes land on this partition;
and of the sightings anti-passback holds for a late gate upload, confirmed
(or dropped) every ten seconds of event time once the watermark has passed
them by the rule's ``confirm_after``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import EnrichedEvent
from schemas.internal import RuleInputBatch
from streams.agents.context import Pipeline
from streams.agents.tables import partition_of
from streams.codec import Rejected, safe_error
from streams.findings import to_record
from streams.metrics import LATE_EVENTS, RECORDS_CONSUMED
from streams.rules.base import Finding

log = logging.getLogger(__name__)
TICK_EVERY = timedelta(minutes=1)
CONFIRM_EVERY = timedelta(seconds=10)
"""How often (event time) a partition's held anti-passback findings are looked at."""


def _due(last: dict[int, datetime], part: int, now: datetime, every: timedelta) -> bool:
    """Whether a partition's clock ``now`` is ``every`` past the last time (noted as now if so)."""
    if part in last and now - last[part] < every:
        return False
    last[part] = now
    return True


def silence_event(finding: Finding, checkpoint_place: Any, at: datetime) -> EnrichedEvent:
    """The synthetic event a silence is reported on: the checkpoint's place at the watermark."""
    return EnrichedEvent(
        event_id=f"silence:{checkpoint_place.checkpoint_id}:{at.astimezone(UTC):%Y%m%dT%H%M%S}",
        event_type="checkpoint_silence",
        event_time=at,
        place=checkpoint_place,
    )


def register(p: Pipeline) -> None:
    source = p.topics["rule-input"]
    name = source.get_topic_name()
    partitions = p.settings.kafka.partitions
    engine = p.engine
    watermarks: dict[int, datetime] = {}
    ticked: dict[int, datetime] = {}
    confirmed: dict[int, datetime] = {}

    def tick(part: int, now: datetime) -> list[tuple[Finding, EnrichedEvent]]:
        checkpoints = [cp for cp in p.master.checkpoints() if partition_of(cp.checkpoint_id, partitions) == part]
        out = []
        for finding in engine.tick(now, checkpoints):
            cp_id = finding.subject.removeprefix("checkpoint:")
            place, _ = p.enricher.place_of(cp_id, None)
            out.append((finding, silence_event(finding, place, now)))
        return out

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()
        async for event in stream.events():
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            batch = await p.dead_letter.decoded(RuleInputBatch, msg)
            if batch is None:
                continue
            part = msg.partition
            detected_at = datetime.now(UTC)
            found: list[tuple[Finding, EnrichedEvent]] = []
            for i, item in enumerate(batch.items):
                ev = item.event
                watermark = watermarks.get(part)
                if watermark is not None and ev.event_time < watermark - engine.lateness:
                    LATE_EVENTS.labels(family=item.family).inc()
                    continue
                try:
                    found.extend((f, ev) for f in engine.judge(item.family, ev))
                except Exception as exc:  # per event: dead-letter it, keep the batch going
                    why = safe_error(exc)
                    log.error("item %d of %s[%s]@%s failed: %s", i, name, part, msg.offset, why)
                    await p.dead_letter(Rejected("processing_error", why, i), msg)
                    continue
            # the record's own watermark applies from the next record on: its items are judged against the one before
            if batch.watermark is not None and (part not in watermarks or batch.watermark > watermarks[part]):
                watermarks[part] = batch.watermark
            now = watermarks.get(part)
            if now is not None and _due(ticked, part, now, TICK_EVERY):
                try:
                    found.extend(tick(part, now))
                except Exception as exc:
                    log.error("silent-checkpoint tick on %s[%s] failed: %s", name, part, safe_error(exc))
            if now is not None and _due(confirmed, part, now, CONFIRM_EVERY):
                try:
                    found.extend(engine.confirm(now, str(part)))
                except Exception as exc:
                    log.error("confirming held findings on %s[%s] failed: %s", name, part, safe_error(exc))
            p.rule_view.flush()  # one changelog write per changed bundle, on this record's partition
            for finding, ev in found:
                await p.publish_finding(to_record(finding, ev, detected_at=detected_at, uploaded_at=batch.uploaded_at))

    p.app.agent(source, name="gridwatch.judge")(process)
