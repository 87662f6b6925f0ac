"""The Kafka clients' repeated errors, logged once per interval with a count instead of ten times a second.

With the broker down, aiokafka logs every failed connection, metadata
refresh, coordinator lookup and fetch as it retries them, each about every
100 ms: a worker whose broker died wrote about 100 lines a second (27,000 in
four and a half minutes, all four or five messages), and the line that says
what the worker itself was doing scrolled away with them. So a message of
the clients (by logger and message template: the node id or the error in its
arguments does not make it new) passes once per ``every`` seconds; the next
one to pass says how many like it were held back meanwhile. The worker's own
messages are never held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

EVERY_S = 30.0
THROTTLED = ("aiokafka", "kafka")
"""Loggers (and their children) whose repeats are held back: the Kafka clients'."""


class RepeatThrottle(logging.Filter):
    """A filter for a handler: see the module. ``clock`` is injected for the tests."""

    def __init__(self, every: float = EVERY_S, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every = every
        self._clock = clock
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}  # -> (when it last passed, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        decided: bool | None = getattr(record, "_throttle_passed", None)
        if decided is None:  # once per record: with one throttle on several handlers, each asks again
            decided = self._decide(record)
            record._throttle_passed = decided
        return decided

    def _decide(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name.partition(".")[0] not in THROTTLED:
            return True
        template = str(record.msg)
        key = (name, record.levelno, template)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._every:
            self._last[key] = (last[0], last[1] + 1)
            return False
        self._last[key] = (now, 0)
        if last is not None and last[1]:
            record.msg = f"{template} [{last[1]} more like this in the last {now - last[0]:.0f} s, not logged]"
        return True


def install(root: logging.Logger, every: float = EVERY_S) -> RepeatThrottle:
    """Put one throttle on every handler of ``root`` (records of every logger pass through them)."""
    throttle = RepeatThrottle(every)
    for handler in root.handlers:
        handler.addFilter(throttle)
    return throttle
