"""Real services for integration tests: the project's Kafka broker and worker.

The broker comes from ``infra/kafka/broker.sh`` (Maven-resolved jars, KRaft)
on free ports with its own data directory, started once per session and
stopped at the end. Each test gets uuid-named topics and consumer group, so
tests never see each other's messages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streams.settings import REPO_ROOT, Settings

BROKER_SH = REPO_ROOT / "infra" / "kafka" / "broker.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@dataclass
class WorkerProcess:
    """A ``gridwatch worker`` subprocess with its own settings, stopped like an operator would."""

    env: dict[str, str]
    log_path: Path
    metrics_port: int
    proc: subprocess.Popen[bytes] | None = None
    _log_offset: int = field(default=0)

    def start(self, ready_timeout: float = 90.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if "ClickHouse sink ready" in self.log_since_start() and "Worker]: Ready" in self.log_since_start():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready in {ready_timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture
def pipeline_settings(kafka_broker: Broker, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        app_id=f"gw-test-{run}",
        data_dir=tmp_path / "data",
        kafka={"bootstrap": kafka_broker.bootstrap, "topic_prefix": f"t{run}.", "partitions": 3},
        clickhouse={"flush_seconds": 0.2},
        metrics={"port": free_port()},
    )


def settings_env(settings: Settings) -> dict[str, str]:
    k, m = settings.kafka, settings.metrics
    env = {k_: v for k_, v in os.environ.items() if not k_.startswith("GRIDWATCH_")}
    return env | {
        "GRIDWATCH_APP_ID": settings.app_id,
        "GRIDWATCH_DATA_DIR": str(settings.data_dir),
        "GRIDWATCH_KAFKA__BOOTSTRAP": k.bootstrap,
        "GRIDWATCH_KAFKA__TOPIC_PREFIX": k.topic_prefix,
        "GRIDWATCH_KAFKA__PARTITIONS": str(k.partitions),
        "GRIDWATCH_CLICKHOUSE__FLUSH_SECONDS": str(settings.clickhouse.flush_seconds),
        "GRIDWATCH_METRICS__PORT": str(m.port),
        "GRIDWATCH_LOG_LEVEL": "info",
    }


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[[Settings], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def make(settings: Settings) -> WorkerProcess:
        w = WorkerProcess(env=settings_env(settings), log_path=tmp_path / "worker.log",
                          metrics_port=settings.metrics.port)
        started.append(w)
        return w

    yield make
    for w in started:
        if w.proc is not None and w.proc.poll() is None:
            w.stop()
