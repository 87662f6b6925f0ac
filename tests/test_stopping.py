"""A worker told to stop is gone within its deadline, even when the broker it would commit to is gone; the Kafka
clients' retries meanwhile do not flood its log."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from streams import stopping
from streams.broker import EphemeralBroker
from streams.process import WorkerProcess, free_port, settings_env
from streams.scrape import wait_for_metric
from streams.settings import Settings
from streams.stopping import STOP_OVERDUE_EXIT, StopDeadline


class _Exits:
    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def test_an_armed_deadline_exits_with_the_overdue_status_once_its_time_is_up() -> None:
    exits = _Exits()
    deadline = StopDeadline(0.05, exit=exits)
    deadline.arm()
    assert exits.called.wait(30)
    assert exits.codes == [STOP_OVERDUE_EXIT]


def test_a_deadline_never_armed_never_exits() -> None:
    exits = _Exits()
    deadline = StopDeadline(0.01, exit=exits)
    assert not exits.called.wait(0.3)
    assert not deadline.armed


def test_arming_again_keeps_the_first_deadline_and_exits_once() -> None:
    exits = _Exits()
    deadline = StopDeadline(0.3, exit=exits)
    deadline.arm()
    armed_at = time.monotonic()
    time.sleep(0.1)
    deadline.arm()  # a second signal, or the stop that follows the first
    assert exits.called.wait(30)
    assert time.monotonic() - armed_at < 0.3 + 0.1 + 5  # from the first arming, not the second (generous)
    time.sleep(0.5)
    assert exits.codes == [STOP_OVERDUE_EXIT]


def test_a_cancelled_deadline_does_not_exit() -> None:
    exits = _Exits()
    deadline = StopDeadline(0.1, exit=exits)
    deadline.arm()
    deadline.cancel()
    assert not exits.called.wait(0.5)


def test_an_expired_deadline_exits_even_when_the_log_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "LOG_GRACE_S", 0.05)
    release = threading.Event()

    class _Stuck(logging.Handler):  # a log whose writes never return, as on a blocked pipe
        def emit(self, record: logging.LogRecord) -> None:
            release.wait(60)

    stuck = _Stuck()
    stopping.log.addHandler(stuck)
    try:
        exits = _Exits()
        StopDeadline(0.05, exit=exits).arm()
        assert exits.called.wait(30)
        release.set()  # the log takes the reason at last: the deadline does not exit a second time
        time.sleep(0.2)
        assert exits.codes == [STOP_OVERDUE_EXIT]
    finally:
        release.set()
        stopping.log.removeHandler(stuck)


@pytest.mark.integration
def test_a_worker_sent_sigterm_after_its_broker_died_mid_traffic_exits_within_its_deadline(
    own_broker: EphemeralBroker, tmp_path: Path, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        app_id=f"gw-stop-{run}", data_dir=tmp_path / "data",
        kafka={"bootstrap": own_broker.bootstrap, "topic_prefix": f"t{run}.", "partitions": 2},
        metrics={"port": free_port()}, stream={"stop_within_s": 5.0},
    )
    worker = worker_factory(settings)
    worker.start()
    # the street's day as traffic, from a process of its own: a client in this one would be left retrying the
    # dead broker, and kafka-python leaves a socket open for every failed attempt
    with (tmp_path / "simulate.log").open("wb") as out:
        street = subprocess.Popen([sys.executable, "-m", "streams.cli", "simulate", "--no-progress"],
                                  env=settings_env(settings), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_metric(settings.metrics.port, "gridwatch_events_consumed_total", 200, timeout=180,
                        topic=settings.kafka.topic("events"), event_type="passage")
        own_broker.kill()  # with records consumed since the last commit: the final commit has work to do
        told = time.monotonic()
        # without the deadline this worker was still stopping four minutes later, its final commit looking for
        # a coordinator; the bound is generous for a loaded machine, and far below "never"
        code = worker.stop(timeout=120)
        took = time.monotonic() - told
    finally:
        street.kill()
        street.wait()
    assert code == STOP_OVERDUE_EXIT, worker.log_tail()
    assert took >= 5.0
    log = worker.log_path.read_text(errors="replace")
    assert "did not stop within 5 s" in log
    # the clients retry about every 100 ms and logged each failure (about 100 lines a second): now once per 30 s
    assert 1 <= log.count("Unable to update metadata from") <= 2
