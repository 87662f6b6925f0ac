"""``gridwatch simulate``: build the street, publish its registers, then its day.

Glue between settings and the simulator; the kafka-python producer is built
here, once, from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from kafka import KafkaProducer

from streams.clients import kafka_python
from streams.settings import Settings
from streams.simulate.day import generate_day
from streams.simulate.incidents import Incident
from streams.simulate.publish import PublishStats, publish_day, publish_master_data
from streams.simulate.scenarios import day_incidents
from streams.simulate.street import Street, build_street
from streams.topics import ensure_topics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimulationStats:
    master: dict[str, int]
    day: PublishStats | None

    def summary(self) -> str:
        master = ", ".join(f"{k} {v:,}" for k, v in self.master.items())
        if self.day is None:
            return f"master data published: {master}"
        d = self.day
        return (
            f"master data published: {master}\n"
            f"day published: {d.events:,} events in {d.batches:,} batches, "
            f"{d.elapsed_s:.1f} s, {d.events_per_s:,.0f} events/s"
        )


def producer_for(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        **kafka_python(settings.kafka),
        linger_ms=5,
        batch_size=256 * 1024,
        compression_type=None,
        acks=1,
    )


def run_simulation(
    settings: Settings,
    *,
    seed: int,
    residents: int,
    speed: float,
    master_only: bool = False,
    progress: bool = True,
    day: date = date(2020, 2, 8),
    street: Street | None = None,
    before_day: Callable[[dict[str, int]], None] | None = None,
    on_incident: Callable[[Incident, datetime], None] | None = None,
) -> SimulationStats:
    """Publish registers, call ``before_day`` (e.g. wait for the worker), then the day."""
    ensure_topics(settings.kafka, retention=settings.retention)
    street = street or build_street(seed=seed, residents=residents, as_of=day)
    producer = producer_for(settings)
    try:
        master = publish_master_data(
            street, producer=producer, topic=settings.kafka.topic
        )
        log.info("master data published: %s", master)
        if master_only:
            return SimulationStats(master, None)
        if before_day is not None:
            before_day(master)
        incidents = day_incidents(street, day=day)
        batches = generate_day(street, seed=seed, day=day, incidents=incidents)
        stats = publish_day(
            batches, producer=producer, topic=settings.kafka.topic, speed=speed, progress=progress,
            incidents=incidents, on_incident=on_incident,
        )
        return SimulationStats(master, stats)
    finally:
        producer.close()
