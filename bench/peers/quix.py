"""Peer "quix": the same work in Quix Streams, written the way its documentation reads.

A ``StreamingDataFrame`` over the raw events topic expands each upload into
its processed events (decode, enrich, rules: our logic from
``bench.peers.common``). One branch goes to a ``BatchingSink`` that wraps
``ClickHouseSink``: Quix accumulates the items per partition and calls
``write(batch)`` on every checkpoint (``commit_interval``, 5 s by default),
so each write is one insert of enriched rows and one of alert rows. The other
branch expands each event's alerts and produces them with ``to_topic``, keyed
by large grid, as the contract's JSON.

The run stops itself: when N events were taken the processing step calls
``app.stop()``; Quix then finishes the current record and commits a final
checkpoint (sinks flushed, producer flushed, offsets committed) before
``app.run()`` returns, which is when the end time is taken. ``run(timeout=...)``
is Quix's own "no new message for T seconds" stop, used for the idle timeout.

    python -m bench.peers.quix --bootstrap 127.0.0.1:9092 --prefix gridwatch. --events 20000 \
        --clickhouse-dsn chdb:///tmp/peer-ch --database peer --group peer-quix-1 --out /tmp/quix.json
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence

from quixstreams import Application, message_context
from quixstreams.models.serializers.json import JSONSerializer
from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch

from bench.peers.common import (
    EventBudget,
    PeerArgs,
    PeerError,
    Processed,
    Processor,
    ensure_alerts_topic,
    load_master,
    parse_args,
    say,
    write_result,
)
from schemas import Alert
from sinks import ClickHouseSink, SinkUnavailable

NAME = "quix"


class ClickHouseBatchSink(BatchingSink):
    """Quix's batching sink over ours: one insert per table per partition per checkpoint."""

    def __init__(self, sink: ClickHouseSink, budget: EventBudget) -> None:
        super().__init__()
        self._sink = sink
        self._budget = budget

    def setup(self) -> None:
        self._sink.setup()

    def write(self, batch: SinkBatch) -> None:
        items: list[Processed] = [item.value for item in batch]
        try:
            self._budget.rows += self._sink.insert_events([p.event for p in items])
            self._budget.alert_rows += self._sink.insert_alerts([a for p in items for a in p.alerts])
        except SinkUnavailable as exc:  # Quix pauses, seeks back and replays; our sink skips stored ids
            raise SinkBackpressureError(retry_after=exc.retry_after) from None


def build_app(args: PeerArgs, *, state_dir: str, processor: Processor, sink: ClickHouseSink,
              budget: EventBudget) -> Application:
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel="WARNING",
    )
    events_topic = app.topic(args.topic("events"), value_deserializer="bytes", key_deserializer="bytes")
    alerts_topic = app.topic(args.alerts_topic, key_serializer="str",
                             value_serializer=JSONSerializer(dumps=lambda alert: alert.model_dump_json()))

    def handle(raw: bytes) -> list[Processed]:
        if budget.done:
            return []  # records polled after stop() was asked for
        ctx = message_context()
        batch = processor.decode(raw, f"{ctx.topic}[{ctx.partition}]@{ctx.offset}")
        out = processor.process_all(budget.take(batch))
        budget.alerts += sum(len(p.alerts) for p in out)
        if budget.done:
            app.stop()  # the final checkpoint flushes the sink and the producer
        return out

    processed = app.dataframe(events_topic).apply(handle, expand=True)
    processed.sink(ClickHouseBatchSink(sink, budget))
    alerts = processed.apply(lambda p: p.alerts, expand=True)
    alerts.to_topic(alerts_topic, key=_large_grid)
    return app


def _large_grid(alert: Alert) -> str:
    return alert.place.large_grid


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    sink = ClickHouseSink(dsn=args.clickhouse_dsn, database=args.database)
    try:
        keys = args.person_keys()
        master = load_master(args, keys)
        ensure_alerts_topic(args)
        sink.setup()  # before the clock: Quix would otherwise connect on the first checkpoint
        budget = EventBudget(args.events)
        with tempfile.TemporaryDirectory(prefix=f"{NAME}-") as state_dir:
            app = build_app(args, state_dir=state_dir, processor=Processor(master, keys), sink=sink, budget=budget)
            app.run(timeout=args.timeout_s, collect=False)
            if not budget.done:
                raise budget.shortfall(args.timeout_s)
            budget.finish()
    except PeerError as exc:
        say(f"{NAME}: {exc}")
        return 1
    finally:
        sink.close()
    write_result(args, budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
