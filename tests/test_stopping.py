"""A worker told to stop is gone within its deadline, even when the broker it would commit to is gone."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka.errors import KafkaTimeoutError

from schemas import EventBatch
from streams.broker import EphemeralBroker
from streams.process import WorkerProcess, free_port
from streams.scrape import wait_for_metric
from streams.settings import Settings
from streams.stopping import STOP_OVERDUE_EXIT, StopDeadline
from tests.bus import Bus
from tests.factories import OUTSIDER_ID, passage


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
    bus = Bus(settings)
    sending = threading.Event()
    sending.set()

    def feed() -> None:  # a gate's uploads, until the test is done (sends after the broker died go nowhere)
        i = 0
        while sending.is_set():
            i += 1
            with contextlib.suppress(Exception):
                bus.publish_batch(EventBatch(batch_id=f"b{i}", source="cp-dy-050", events=(
                    passage(f"e{i}", id_number=OUTSIDER_ID, temperature_c=39.0),)))
            time.sleep(0.01)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        wait_for_metric(settings.metrics.port, "gridwatch_events_consumed_total", 20, timeout=120,
                        topic=settings.kafka.topic("events"), event_type="passage")
        own_broker.kill()  # with records consumed since the last commit: the final commit has work to do
        told = time.monotonic()
        # without the deadline this worker was still stopping four minutes later, its final commit looking for
        # a coordinator; the bound is generous for a loaded machine, and far below "never"
        code = worker.stop(timeout=120)
        took = time.monotonic() - told
    finally:
        sending.clear()
        feeder.join(timeout=10)
        with contextlib.suppress(KafkaTimeoutError):  # its broker is gone: what it still holds goes nowhere
            bus.producer.close(timeout=0)
    assert code == STOP_OVERDUE_EXIT, worker.log_tail()
    assert took >= 5.0
    assert "did not stop within 5 s" in worker.log_path.read_text(errors="replace")
