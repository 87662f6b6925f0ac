"""``kill -USR1 <worker pid>``: where a worker that looks stuck is waiting, written to its log.

A stalled asyncio worker shows nothing in a profiler (the loop is idle) and
``Task.print_stack`` shows only a task's outermost coroutine. The dump gives
every task's whole await chain, then one line per assigned partition with
what Faust and aiokafka each believe about it: the two disagreeing is how the
lost-fetch bug (streams/consumer.py) was found. Reads private attributes of
Faust and aiokafka on purpose; a diagnostic must not raise, so a part that
cannot be read says so instead.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import signal
import sys
from collections.abc import Iterator
from typing import Any

import faust


def _frame(obj: Any) -> Any:
    return getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)


def _awaited(obj: Any) -> Any:
    nxt = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None) or getattr(obj, "ag_await", None)
    if nxt is None and _frame(obj) is None:
        # an `async for` step or an `__await__` wrapper refers to its generator only through the GC
        inner = [r for r in gc.get_referents(obj)
                 if inspect.isasyncgen(r) or inspect.iscoroutine(r) or inspect.isgenerator(r)]
        nxt = inner[0] if inner else None
    return nxt


def task_chains() -> Iterator[str]:
    """Every task of the running loop with its whole await chain, outermost first."""
    for task in asyncio.all_tasks():
        yield f"task {task.get_name()}:"
        obj: Any = task.get_coro()
        while obj is not None:
            frame = _frame(obj)
            if frame is not None:
                yield f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}"
            nxt = _awaited(obj)
            if nxt is None and frame is None:
                yield f"  {type(obj).__name__}"
            obj = nxt


def partition_states(app: faust.App) -> Iterator[str]:
    """Faust's flow and, per assigned partition, Faust's and aiokafka's view of it."""
    consumer: Any = app.consumer
    recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
    yield (f"app flow {app.flow_control.is_active()}, consumer flow {consumer.flow_active}, "
           f"in recovery {recovery.in_recovery}, unacked {len(consumer._unacked_messages)}")
    try:
        fetcher: Any = consumer._thread._ensure_consumer()._fetcher
        assignment: Any = fetcher._subscriptions.subscription.assignment
    except Exception as exc:  # not started, or stopping
        yield f"aiokafka fetcher unavailable: {type(exc).__name__}"
        return
    active = consumer._active_partitions or set()
    for tp in sorted(assignment.tps if assignment is not None else ()):
        state = assignment.state_value(tp)
        faust_state = "active" if tp in active else "paused" if tp in consumer._paused_partitions else "idle"
        position = state.position if state.has_valid_position else None
        yield (f"{tp.topic}[{tp.partition}]: faust {faust_state}, read {consumer._read_offset.get(tp)}, "
               f"committed {consumer._committed_offset.get(tp)}; aiokafka position {position}, "
               f"buffered {tp in fetcher._records}")


def install(app: faust.App) -> None:
    """Write the dump to stderr (the worker log) on SIGUSR1."""
    def dump() -> None:
        sys.stderr.write("".join(f"{line}\n" for line in (*task_chains(), *partition_states(app))))

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)
