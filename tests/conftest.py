"""Real services for integration tests: the project's Kafka broker and worker.

The broker comes from ``infra/kafka/broker.sh`` (Maven-resolved jars, KRaft)
on free ports with its own data directory, started once per session and
stopped at the end. Each test gets uuid-named topics and consumer group, so
tests never see each other's messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.broker import EphemeralBroker
from streams.chaos.disk import SmallDisk
from streams.process import WorkerProcess, free_port, settings_env
from streams.settings import Settings


@dataclass(frozen=True)
class Broker:
    bootstrap: str


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = EphemeralBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield Broker(bootstrap=broker.bootstrap)
    finally:
        broker.stop()


@pytest.fixture
def pipeline_settings(kafka_broker: Broker, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        app_id=f"gw-test-{run}",
        data_dir=tmp_path / "data",
        kafka={"bootstrap": kafka_broker.bootstrap, "topic_prefix": f"t{run}.", "partitions": 3},
        clickhouse={"flush_seconds": 0.2},
        metrics={"port": free_port()},
        alerts={"repeat_interval_s": 0},  # every fold published: these tests check each revision
    )


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[[Settings], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def make(settings: Settings) -> WorkerProcess:
        w = WorkerProcess(env=settings_env(settings), log_path=tmp_path / f"worker-{settings.app_id}.log",
                          metrics_port=settings.metrics.port)
        started.append(w)
        return w

    yield make
    for w in started:
        if w.running():
            w.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 64 MB tmpfs over a fresh directory (root only, as on the project's machines), unmounted afterwards."""
    disk = SmallDisk(tmp_path / "small-disk", 64)
    disk.mount()
    try:
        yield disk
    finally:
        disk.unmount()
