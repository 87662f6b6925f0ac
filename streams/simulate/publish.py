"""Put a simulated street and its day on Kafka, paced by event time.

The producer is a parameter (built by the caller from ``Settings``), so this
module reads no configuration and tests can pass a fake. Records are the
models' JSON; master data is keyed as the compacted topics expect (persons by
their pseudonymous key, never by ID number), event batches by the terminal
that uploaded them so one checkpoint's uploads stay in order on a partition.
Only counts are ever printed: the records hold personal data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tqdm import tqdm  # type: ignore[import-untyped]

from schemas import EventBatch
from streams.master import register_key
from streams.simulate.incidents import Incident
from streams.simulate.street import Street


class Producer(Protocol):
    """The part of kafka-python's ``KafkaProducer`` used here."""

    def send(self, topic: str, value: bytes | None = ..., key: bytes | None = ...) -> Any: ...
    def flush(self, timeout: float | None = ...) -> None: ...


@dataclass(frozen=True, slots=True)
class PublishStats:
    events: int
    batches: int
    elapsed_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else math.inf


def publish_master_data(
    street: Street,
    *,
    producer: Producer,
    topic: Callable[[str], str],
) -> dict[str, int]:
    """Publish every register; returns records per logical topic. Flushes before returning."""
    counts: dict[str, int] = {}

    def send(logical: str, key: str, value: bytes) -> None:
        producer.send(topic(logical), key=key.encode(), value=value)
        counts[logical] = counts.get(logical, 0) + 1

    for c in street.compounds:
        send("compounds", c.compound_id, c.model_dump_json().encode())
    for cp in street.checkpoints:
        send("checkpoints", cp.checkpoint_id, cp.model_dump_json().encode())
    for area in street.risk_areas:
        send("risk-areas", area.division_code, area.model_dump_json().encode())
    for r in street.residents:
        send("residents", register_key(r), r.model_dump_json().encode())
    for q in street.quarantine_orders:
        send("quarantine-orders", register_key(q), q.model_dump_json().encode())
    for v in street.visitors:
        send("visitors", register_key(v), v.model_dump_json().encode())
    # corrections after the records they correct: the worker compares on every change, so a
    # disagreement opens its re-check task and the correction (same key) closes it
    for p in (*street.person_records, *street.record_corrections):
        send("person-records", register_key(p), p.model_dump_json().encode())
    producer.flush()
    return counts


def publish_day(
    batches: Iterable[EventBatch],
    *,
    producer: Producer,
    topic: Callable[[str], str],
    speed: float = 0.0,
    progress: bool = True,
    total: int | None = None,
    incidents: Sequence[Incident] = (),
    on_incident: Callable[[Incident, datetime], None] | None = None,
) -> PublishStats:
    """Publish batches to the events topic, ``speed`` simulated seconds per real second.

    ``speed`` 0 or inf publishes as fast as the producer takes them. A batch
    is sent when the simulated clock reaches its newest event (its upload).
    ``on_incident(incident, sent_at)`` is called once per incident, right
    after the batch carrying its first event is handed to the producer, so
    the demo can measure time to the alert from ``sent_at`` (UTC). An
    incident without events (an outage) is announced when the simulated
    clock passes its start.
    """
    pending = {eid: inc for inc in incidents for eid in inc.event_ids}
    outages = sorted((inc for inc in incidents if not inc.events), key=lambda i: i.inject_at)
    announced: set[str] = set()
    paced = 0 < speed < math.inf
    events_topic = topic("events")
    start = time.monotonic()
    sim0: datetime | None = None
    n_events = n_batches = 0
    bar = tqdm(total=total, unit="ev", unit_scale=True, disable=not progress, smoothing=0.1)
    try:
        for batch in batches:
            sim_now = max(e.event_time for e in batch.events)
            if sim0 is None:
                sim0 = sim_now
            if paced:
                wait = (sim_now - sim0).total_seconds() / speed - (time.monotonic() - start)
                if wait > 0:
                    time.sleep(wait)
            producer.send(events_topic, key=batch.source.encode(), value=batch.model_dump_json().encode())
            n_batches += 1
            n_events += len(batch.events)
            if pending:
                _announce(batch, pending, announced, on_incident)
            while outages and outages[0].inject_at <= sim_now:
                outage = outages.pop(0)
                if on_incident is not None:
                    on_incident(outage, datetime.now(UTC))
            bar.update(len(batch.events))
            bar.set_postfix_str(f"sim {sim_now:%H:%M:%S}", refresh=False)
        producer.flush()
    finally:
        bar.close()
    return PublishStats(events=n_events, batches=n_batches, elapsed_s=time.monotonic() - start)


def _announce(
    batch: EventBatch,
    pending: dict[str, Incident],
    announced: set[str],
    on_incident: Callable[[Incident, datetime], None] | None,
) -> None:
    for e in batch.events:
        inc = pending.get(e.event_id)
        if inc is not None and inc.name not in announced:
            announced.add(inc.name)
            if on_incident is not None:
                on_incident(inc, datetime.now(UTC))
