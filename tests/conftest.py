"""Real services for integration tests: the project's Kafka broker and worker.

The broker comes from ``infra/kafka/broker.sh`` (Maven-resolved jars, KRaft)
on free ports with its own data directory, started once per session and
stopped at the end. Each test gets uuid-named topics and consumer group, so
tests never see each other's messages.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.process import WorkerProcess, free_port, settings_env
from streams.settings import REPO_ROOT, Settings

BROKER_SH = REPO_ROOT / "infra" / "kafka" / "broker.sh"


@dataclass(frozen=True)
class Broker:
    bootstrap: str


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    port = free_port()
    env = os.environ | {
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
        "KAFKA_HEAP_OPTS": "-Xms256m -Xmx768m",
    }
    subprocess.run(["bash", str(BROKER_SH), "start"], env=env, check=True)
    try:
        yield Broker(bootstrap=f"127.0.0.1:{port}")
    finally:
        subprocess.run(["bash", str(BROKER_SH), "stop"], env=env, check=False)


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
