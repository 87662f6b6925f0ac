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
from typing import TYPE_CHECKING

import pytest

from streams.broker import EphemeralBroker
from streams.chaos.disk import SmallDisk
from streams.process import WorkerProcess, free_port, settings_env
from streams.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser


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
def own_broker(tmp_path: Path) -> Iterator[EphemeralBroker]:
    """A broker of the test's own, for a test that kills it (the session's broker serves every other test)."""
    broker = EphemeralBroker(tmp_path / "own-kafka", quiet=True)
    broker.start()
    try:
        yield broker
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


# --- the console in a browser (tests/test_console_browser.py) ----------------------------------------------
# Debian's chromium driven by Playwright; the console served from inside the worker (the embedded chDB store).
# The two operators: the command post (every grid) and grid staff of Wenfeng's large grid (tests.factories).
CHROMIUM = Path("/usr/bin/chromium")
CONSOLE_PASSWORD = "test-only-pw-2020"  # noqa: S105 - accounts of a throwaway data directory
COMMAND_OPERATOR = "cp-01"
GRID_OPERATOR = "gs-lg01"
GRID_OPERATOR_GRID = "LG12"  # co-wf-01, 文峰小区 (tests.factories.COMPOUNDS)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per module (Debian's package: Playwright's own download is not used).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it is
    open, and every later test that calls ``asyncio.run`` would fail on it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does), the console's browser "
                    f"tests need it", pytrace=False)
    from playwright.sync_api import sync_playwright  # here: only the browser tests pay for the import

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_settings(pipeline_settings: Settings) -> Settings:
    """``pipeline_settings`` with the console inside the worker on a free port, and its two operators."""
    from streams.console.server import operator_book

    console = pipeline_settings.console.model_copy(update={"in_worker": True, "port": free_port()})
    settings = pipeline_settings.model_copy(update={"console": console})
    book = operator_book(settings)
    book.add(COMMAND_OPERATOR, CONSOLE_PASSWORD, "command")
    book.add(GRID_OPERATOR, CONSOLE_PASSWORD, "grid", GRID_OPERATOR_GRID)
    return settings
