"""A deadline on the worker's stop: told to stop, a worker is gone within ``stop_within_s``, whatever it waits for.

Faust stops a worker by stopping its services one by one, and some of them
ask the broker on the way: the consumer's final commit looks for the group
coordinator until one answers (aiokafka's ``ensure_coordinator_known`` loops
for good). With the broker gone, a worker sent SIGTERM was seen still
stopping minutes later, its log filling with connection errors: an
operator's stop, or a supervisor's restart, never completed.

So the stop arms a timer. If the process is still there when it fires, the
reason goes to the log and the process exits at once with
``STOP_OVERDUE_EXIT``, as if killed. That is safe for the reason a kill is
(the fault campaign's ``worker-kill``): whatever was not committed is read
again after the restart, and the sink and the alert book recognise what they
already hold.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

STOP_OVERDUE_EXIT = 75
"""The exit status of a stop that ran out of time: ``EX_TEMPFAIL`` (sysexits.h), "try again", since a restart
is what the supervisor should do."""

LOG_GRACE_S = 5.0
"""How long the expired deadline waits for the log to take its reason before it exits anyway."""


class StopDeadline:
    """Arm once the worker begins to stop; ``exit`` (``os._exit`` in the worker) runs ``within`` seconds later
    unless the process has ended first. Arming again changes nothing: the first signal's deadline holds."""

    def __init__(self, within: float, *, exit: Callable[[int], object] = os._exit) -> None:
        self._within = within
        self._exit = exit
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._left = False

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self._within, self._expire)
            self._timer.name = "stop-deadline"
            self._timer.daemon = True  # a stop that finishes in time ends the process, and the timer with it
            self._timer.start()

    def cancel(self) -> None:
        """For tests and for callers that go on living after a stop (the worker process never does)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def _expire(self) -> None:
        # the log is where the reason goes, but a handler's lock may be held by the very thread that hangs
        # (a write to a full disk or a blocked pipe): the exit comes a moment later whatever the log does
        fallback = threading.Timer(LOG_GRACE_S, self._leave)
        fallback.daemon = True
        fallback.start()
        log.critical("the worker did not stop within %.0f s of being told to (is the broker down?): exiting "
                     "without waiting (status %d); what it had not committed is read again after the restart",
                     self._within, STOP_OVERDUE_EXIT)  # a stream handler flushes as it emits
        self._leave()

    def _leave(self) -> None:
        with self._lock:  # once, whichever of the two gets here first
            if self._left:
                return
            self._left = True
        self._exit(STOP_OVERDUE_EXIT)
