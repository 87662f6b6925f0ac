"""Peer "naive_faust": the events agent as Faust's own examples would write it.

One agent, ``async for`` over the raw events topic, and per event: enrich,
evaluate, ``await topic.send`` for each alert, and one ClickHouse insert per
row called right inside the agent (blocking the event loop while it runs).
That per-row write is deliberate: it is what a user copying the Faust
examples gets, and the gap to our worker (batched, off-loop inserts) is what
the benchmark shows. The logic itself is ours (``bench.peers.common``).

The worker runs programmatically and stops itself: once N events are stored
and the producer is flushed, the agent records the end time and sends the
process SIGTERM, which Faust's worker handles as a graceful shutdown. A timer
fails the run the same way when no event arrives for ``--timeout`` seconds.

    python -m bench.peers.naive_faust --bootstrap 127.0.0.1:9092 --prefix gridwatch. --events 20000 \
        --clickhouse-dsn chdb:///tmp/peer-ch --database peer --group peer-faust-1 --out /tmp/faust.json
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import faust

from bench.peers.common import (
    EventBudget,
    PeerArgs,
    PeerError,
    Processor,
    ensure_alerts_topic,
    load_master,
    parse_args,
    say,
    write_result,
)
from sinks import ClickHouseSink
from streams.codec import safe_error

NAME = "naive_faust"


@dataclass
class Outcome:
    """How the worker ended; filled from inside the event loop, read after it stopped."""

    error: str | None = None
    stopping: bool = False

    def stop(self, error: str | None = None) -> None:
        """Ask the worker to shut down (once) the way an operator would: SIGTERM."""
        if error is not None and self.error is None:
            self.error = error
        if not self.stopping:
            self.stopping = True
            os.kill(os.getpid(), signal.SIGTERM)


def build_app(
    args: PeerArgs, *, datadir: str, processor: Processor, sink: ClickHouseSink, budget: EventBudget, outcome: Outcome
) -> faust.App:
    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        value_serializer="raw",
        web_enabled=False,
        datadir=datadir,
        consumer_auto_offset_reset="earliest",
    )
    events_topic = app.topic(args.topic("events"), key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(args.alerts_topic, key_serializer="raw", value_serializer="raw")

    @app.agent(events_topic)
    async def enrich(stream: faust.StreamT[bytes]) -> None:
        try:
            async for value in stream:
                if budget.done:
                    continue  # past N: consume and ignore until the worker stops
                msg = stream.current_event.message if stream.current_event else None
                where = f"{msg.topic}[{msg.partition}]@{msg.offset}" if msg else args.topic("events")
                batch = processor.decode(value, where)
                detected_at = datetime.now(UTC)
                for event in budget.take(batch):
                    out = processor.process(event, detected_at)
                    budget.rows += sink.insert_events([out.event])  # one insert per row: the naive part
                    for alert in out.alerts:
                        await alerts_topic.send(key=alert.place.large_grid.encode(),
                                                value=alert.model_dump_json().encode())
                        budget.alert_rows += sink.insert_alerts([alert])
                        budget.alerts += 1
                if budget.done:
                    await app.producer.flush()
                    budget.finish()
                    outcome.stop()
        except PeerError as exc:
            outcome.stop(str(exc))
        except Exception as exc:  # the message may quote personal data: type and place only
            outcome.stop(f"agent failed: {safe_error(exc)}")

    @app.timer(1.0)  # type: ignore[untyped-decorator]  # faust.App.timer is not annotated
    async def idle_watchdog() -> None:
        if not budget.done and budget.idle_s() > args.timeout_s:
            outcome.stop(str(budget.shortfall(args.timeout_s)))

    return app


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    try:
        keys = args.person_keys()
        master = load_master(args, keys)
        ensure_alerts_topic(args)
        sink = ClickHouseSink(dsn=args.clickhouse_dsn, database=args.database)
        sink.setup()
    except PeerError as exc:
        say(f"{NAME}: {exc}")
        return 1
    budget = EventBudget(args.events)
    outcome = Outcome()
    exit_code: object = 0
    try:
        with tempfile.TemporaryDirectory(prefix=f"{NAME}-") as datadir:
            app = build_app(args, datadir=datadir, processor=Processor(master, keys), sink=sink,
                            budget=budget, outcome=outcome)
            worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
            worker.spinner = None  # at "warning" Faust draws a terminal spinner; our output is a log
            try:
                worker.execute_from_commandline()
            except SystemExit as exc:  # the worker always ends this way, 0 when it stopped cleanly
                exit_code = exc.code
    finally:
        sink.close()
    if outcome.error is None and budget.done_at is None:
        outcome.error = f"the Faust worker stopped before N events were done (exit {exit_code})"
    if outcome.error is not None:
        say(f"{NAME}: {outcome.error}")
        return 1
    write_result(args, budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
