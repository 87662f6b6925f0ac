"""The alert book agents: findings and operator actions in, alert revisions out.

Both read topics keyed by alert fingerprint (``findings``, ``alert-actions``)
with the same partition count, so Faust assigns a fingerprint's partition of
both to one worker, and both agents share one ``AlertBook`` over the
``alert-book`` table (with ``FindingDelivery``, which folds the findings of
owned partitions in-process, so on one worker ``findings`` carries only what
was sent before a restart or a rebalance). Every revision goes to ``alerts``
keyed by large grid (``AlertPublisher``), where the ClickHouse sink and the
command post read it. Actions for an alert that is unknown, superseded or
already resolved are normal (two operators at once) and only counted; an
unreadable action is dead-lettered. A third loop, ``release_held_repeats``,
publishes the repeats the book held back (``alerts.repeat_interval_s``) once
they are due, for the fingerprints this worker owns; after a restart or a
rebalance it finds them in the table.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from schemas import AlertAction
from schemas.internal import FindingRecord
from streams.agents.acking import handled
from streams.agents.context import Pipeline
from streams.agents.delivery import AlertPublisher, FindingDelivery, Ownership, kafka_partition
from streams.agents.tables import RecordView, held_repeats
from streams.alertbook import AlertBook
from streams.codec import Rejected, safe_error
from streams.findings import from_record
from streams.metrics import ALERT_ACTIONS, RECORDS_CONSUMED

log = logging.getLogger(__name__)


def register(p: Pipeline, book: AlertBook, view: RecordView, publish: AlertPublisher, deliver: FindingDelivery, *,
             ownership: Ownership, table: Any, book_changelog: str) -> None:
    """Both agents share ``view``; each flushes before its next await, so neither sees the other's half-write."""

    async def on_findings(stream: Any) -> None:
        name = p.topics["findings"].get_topic_name()
        async for event in handled(stream):
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            record = await p.dead_letter.decoded(FindingRecord, msg)
            if record is None:
                continue
            finding = from_record(record)
            route = record.route
            if len(route) > 1 and not book.continues(route[0], finding, record.event):
                view.flush()  # read only
                await deliver.resume((finding, record.event, record.uploaded_at), route[1:],
                                     detected_at=record.detected_at)
                continue
            try:
                alerts = book.observe(finding, record.event, detected_at=record.detected_at,
                                      key=route[0] if route else None)
                view.flush()
            except Exception as exc:  # one finding never stops the book
                view.flush()
                await p.dead_letter(Rejected("processing_error", safe_error(exc)), msg)
                continue
            for alert in alerts:
                await publish(alert, record.uploaded_at)

    async def on_actions(stream: Any) -> None:
        name = p.topics["alert-actions"].get_topic_name()
        async for event in handled(stream):
            msg = event.message
            RECORDS_CONSUMED.labels(topic=name).inc()
            action = await p.dead_letter.decoded(AlertAction, msg)
            if action is None:
                continue
            try:
                alert = book.apply(action)
                view.flush()
            except Exception as exc:
                view.flush()
                await p.dead_letter(Rejected("processing_error", safe_error(exc)), msg)
                continue
            ALERT_ACTIONS.labels(action=action.action, outcome="applied" if alert else "ignored").inc()
            if alert is not None:
                await publish(alert)

    interval = p.settings.alerts.repeat_interval_s
    topics = (p.topics["findings"].get_topic_name(), book_changelog)
    partitions = p.settings.kafka.partitions

    async def release_held_repeats() -> None:
        scanned: frozenset[int] = frozenset()
        while True:
            await asyncio.sleep(min(1.0, interval / 4))
            owned = ownership.partitions(*topics)
            # started, or a rebalance: what the new partitions' previous owner held. Not while the table is
            # being restored: Faust resumes the flow (so the partitions count as owned) before the changelog is
            # read, and a scan then missed what a worker stopped with SIGTERM had held (the campaign's
            # worker-term: a register_mismatch fold never published, count 1 where the reference has 2)
            if owned != scanned and not p.app.in_recovery:
                for key, mark in held_repeats(table.data):
                    if kafka_partition(key, partitions) in owned:
                        book.hold(key, mark)
                scanned = owned
            now = datetime.now(UTC)
            for key in book.due(now):
                part = kafka_partition(key, partitions)
                if part not in ownership.partitions(*topics):
                    book.forget(key)  # its owner now scans for it
                    continue
                alert = book.release(key, now)
                view.flush(partition=part)  # before the await, as the agents do
                if alert is not None:
                    await publish(alert)

    if interval > 0:
        p.app.task(release_held_repeats)
    p.app.agent(p.topics["findings"], name="gridwatch.alert-book")(on_findings)
    p.app.agent(p.topics["alert-actions"], name="gridwatch.alert-actions")(on_actions)
