"""The events agent: decode a terminal's upload, enrich each event, run the rules.

Per record (one upload of many events) it produces one enriched batch, keyed
by the uploading terminal, and one alert per finding, keyed by large grid so
each grid's alerts stay in order on one partition. A bad event is
dead-lettered alone; the rest of its batch goes on.

Records are taken many at a time and acked only once the sink feeder has
stored their enriched rows in ClickHouse; alerts are sent at once, so a
ClickHouse write never delays an alert.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from schemas import Alert, EnrichedBatch, EnrichedEvent
from streams.agents.context import Pipeline
from streams.agents.sink import SinkFeeder
from streams.alerts import build_alert
from streams.codec import Rejected, decode_batch, safe_error
from streams.metrics import (
    ALERT_LATENCY,
    ALERTS,
    ENRICHMENT_MISSES,
    EVENTS_CONSUMED,
    RECORDS_CONSUMED,
)
from streams.rules import evaluate

log = logging.getLogger(__name__)


def register(p: Pipeline, feeder: SinkFeeder) -> None:
    source = p.topics["events"]
    enriched_topic = p.topics["enriched-events"]
    alerts_topic = p.topics["alerts"]
    name = source.get_topic_name()

    async def handle(msg: Any) -> list[EnrichedEvent]:
        if msg.value is None:
            await p.dead_letter(Rejected("schema_violation", "record has no value"), msg)
            return []
        decoded = decode_batch(msg.value)
        if isinstance(decoded, Rejected):
            await p.dead_letter(decoded, msg)
            return []
        for rejected in decoded.rejected:
            await p.dead_letter(rejected, msg)

        enriched: list[EnrichedEvent] = []
        alerts: list[Alert] = []
        detected_at = datetime.now(UTC)
        by_type: dict[str, int] = {}
        for i, ev in enumerate(decoded.events):
            by_type[ev.event_type] = by_type.get(ev.event_type, 0) + 1
            try:
                e = p.enricher.enrich(ev)
                findings = evaluate(p.rules, e)
            except Exception as exc:  # per event: dead-letter it, keep the batch going
                why = safe_error(exc)
                log.error("event %d of %s[%s]@%s failed: %s", i, name, msg.partition, msg.offset, why)
                await p.dead_letter(Rejected("processing_error", why, i), msg)
                continue
            for miss in e.misses:
                ENRICHMENT_MISSES.labels(lookup=miss).inc()
            enriched.append(e)
            alerts.extend(build_alert(f, e, detected_at=detected_at) for f in findings)

        for event_type, n in by_type.items():
            EVENTS_CONSUMED.labels(topic=name, event_type=event_type).inc(n)
        if enriched:
            batch = EnrichedBatch(
                batch_id=decoded.batch_id, source=decoded.source, events=tuple(enriched)
            )
            await enriched_topic.send(key=decoded.source.encode(), value=batch.model_dump_json().encode())
        for alert in alerts:
            await alerts_topic.send(key=alert.place.large_grid.encode(), value=alert.model_dump_json().encode())
            ALERTS.labels(rule=alert.rule_id, severity=alert.severity.value).inc()
        if alerts and msg.timestamp:
            latency = max(0.0, time.time() - msg.timestamp)
            for _ in alerts:
                ALERT_LATENCY.observe(latency)
        return enriched

    async def process(stream: Any) -> None:
        await p.registers.caught_up.wait()  # judge no event against a half-loaded register
        cfg = p.settings.stream
        async for events in stream.noack_take(cfg.take_records, within=cfg.take_within):
            rows: list[EnrichedEvent] = []
            for event in events:
                msg = event.message
                try:
                    rows.extend(await handle(msg))
                except Exception as exc:  # never let one record stop the agent (Faust would ack and move on)
                    why = safe_error(exc)
                    log.error("record %s[%s]@%s failed: %s", name, msg.partition, msg.offset, why)
                    await p.dead_letter(Rejected("processing_error", why), msg)
            RECORDS_CONSUMED.labels(topic=name).inc(len(events))

            async def ack(taken: list[Any] = events) -> None:
                for event in taken:
                    await stream.ack(event)

            await feeder.add(rows, ack)

    p.app.agent(source, name="gridwatch.events")(process)
