"""The Kafka clients' repeated errors pass once per interval, with a count of those held back."""

from __future__ import annotations

import logging

from streams.logthrottle import RepeatThrottle, install


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_clients_message_repeated_within_the_interval_is_held_back_then_counted() -> None:
    clock = _Clock()
    throttle = RepeatThrottle(30.0, clock=clock)
    assert throttle.filter(_record("aiokafka.client", "Unable to update metadata from %s", [1]))
    passed = []
    for i in range(99):
        clock.now += 0.1
        passed.append(throttle.filter(_record("aiokafka.client", "Unable to update metadata from %s", [i])))
    assert not any(passed)
    clock.now += 21.0  # 30.9 s after the first
    again = _record("aiokafka.client", "Unable to update metadata from %s", [1])
    assert throttle.filter(again)
    assert again.getMessage() == "Unable to update metadata from [1] [99 more like this in the last 31 s, not logged]"


def test_a_message_that_did_not_repeat_passes_unchanged() -> None:
    clock = _Clock()
    throttle = RepeatThrottle(30.0, clock=clock)
    first = _record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 1, "NodeNotReadyError")
    assert throttle.filter(first)
    clock.now += 31.0
    later = _record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 1, "NodeNotReadyError")
    assert throttle.filter(later)
    assert later.getMessage() == "Failed fetch messages from 1: NodeNotReadyError"


def test_messages_differ_by_logger_level_and_template_not_by_arguments() -> None:
    clock = _Clock()
    throttle = RepeatThrottle(30.0, clock=clock)
    assert throttle.filter(_record("aiokafka.client", "Unable connect to node with id %s", 1))
    assert not throttle.filter(_record("aiokafka.client", "Unable connect to node with id %s", 2))
    assert throttle.filter(_record("aiokafka.conn", "Unable connect to node with id %s", 1))
    assert throttle.filter(_record("aiokafka.client", "Unable connect to node with id %s", 1, level=logging.WARNING))
    assert throttle.filter(_record("kafka.net.manager", "Connection failed: %s", "ECONNREFUSED"))


def test_the_workers_own_messages_are_never_held_back() -> None:
    clock = _Clock()
    throttle = RepeatThrottle(30.0, clock=clock)
    for name in ("streams.agents.events", "gridwatch", "aiokafkaesque", "faust.transport.consumer"):
        assert all(throttle.filter(_record(name, "event %d failed: %s", 3, "why")) for _ in range(5))


def test_one_throttle_on_several_handlers_lets_a_record_through_all_of_them() -> None:
    seen: list[list[str]] = [[], []]

    class _Keep(logging.Handler):
        def __init__(self, into: list[str]) -> None:
            super().__init__()
            self.into = into

        def emit(self, record: logging.LogRecord) -> None:
            self.into.append(record.getMessage())

    root = logging.Logger("test-root")
    root.addHandler(_Keep(seen[0]))
    root.addHandler(_Keep(seen[1]))
    install(root)
    child = logging.Logger("aiokafka.client")
    child.parent = root
    for _ in range(3):
        child.error("Unable to update metadata from %s", [1])
    assert seen == [["Unable to update metadata from [1]"], ["Unable to update metadata from [1]"]]
