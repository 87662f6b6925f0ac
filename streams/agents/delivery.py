"""Findings to the alert book, and alert revisions to the ``alerts`` topic: in-process where this worker owns them.

A finding belongs to the alert book partition of its fingerprint (the
``findings`` partition Kafka's default partitioner gives the fingerprint, the
same one an operator's ``AlertAction`` with that fingerprint lands on). When
this worker actively owns that partition of ``findings`` and of the book's
changelog, the finding is folded here and now, its table write pinned to that
partition; otherwise it goes to the ``findings`` topic for the owner's
alert-book agent. On one worker every partition is owned, so an alert is
published by the agent that read its event, with no internal hop between.

``Ownership`` reads the worker's active assignment from Faust's assignor at
the moment of use. Agents run only while their partitions are assigned and
recovered (Faust suspends them across a rebalance until the tables are back),
so what it says holds while the caller does not await in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from aiokafka.partitioner import murmur2

from schemas import Alert, EnrichedEvent
from streams.agents.context import Pipeline
from streams.agents.tables import RecordView
from streams.alertbook import AlertBook
from streams.alerts import fingerprint, subject_of
from streams.codec import safe_error
from streams.findings import to_record
from streams.metrics import ALERT_LATENCY, ALERT_REVISIONS, ALERTS, HANDOFFS
from streams.rules.base import Finding

log = logging.getLogger(__name__)

Delivered = tuple[Finding, EnrichedEvent, float | None]
"""A finding, the event it is about, and the Kafka timestamp of the upload behind it (for the latency metric)."""


@lru_cache(maxsize=65_536)
def kafka_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, aiokafka, kafka-python) gives a keyed record."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


class Ownership:
    """The partitions this worker actively processes now (standbys excluded), from Faust's assignor.

    ``enabled=False`` owns nothing: every hand-over goes through the internal topics (``stream.in_process``);
    neither does a worker whose flow Faust has suspended for a rebalance or a stop.
    """

    def __init__(self, app: Any, *, enabled: bool = True) -> None:
        self._app = app
        self._enabled = enabled

    def partitions(self, *topics: str) -> frozenset[int]:
        """Partition numbers assigned here as active for every one of ``topics``."""
        if not self._enabled or not self._app.flow_control.is_active():
            # flow is suspended while a rebalance or a stop is under way: the assignment may be about to move, so
            # nothing counts as owned and the work goes through the topics to whoever owns it next
            return frozenset()
        actives = self._app.assignor.assigned_actives()
        found: set[int] | None = None
        for topic in topics:
            mine = {tp.partition for tp in actives if tp.topic == topic}
            found = mine if found is None else found & mine
        return frozenset(found or ())

    def assigned(self, topic: str) -> frozenset[int]:
        """Partition numbers of ``topic`` assigned here as active, whatever the flow's state or ``enabled``."""
        return frozenset(tp.partition for tp in self._app.assignor.assigned_actives() if tp.topic == topic)


class AlertPublisher:
    """Every alert revision to ``alerts``, keyed by large grid so each grid's revisions stay in order."""

    def __init__(self, p: Pipeline) -> None:
        self._topic = p.topics["alerts"]

    async def __call__(self, alert: Alert, uploaded_at: float | None = None) -> None:
        await self._topic.send(key=alert.place.large_grid.encode(), value=alert.model_dump_json().encode())
        ALERT_REVISIONS.labels(rule=alert.rule_id, change=alert.change).inc()
        if alert.change == "opened":
            ALERTS.labels(rule=alert.rule_id, severity=alert.severity.value).inc()
            if uploaded_at:
                ALERT_LATENCY.observe(max(0.0, time.time() - uploaded_at))


class FindingDelivery:
    """Folds owned findings into the book at once; sends the others to their owner through ``findings``."""

    def __init__(self, p: Pipeline, book: AlertBook, view: RecordView, publish: AlertPublisher,
                 ownership: Ownership, *, book_changelog: str) -> None:
        self._p = p
        self._book = book
        self._view = view
        self._publish = publish
        self._ownership = ownership
        self._topics = (p.topics["findings"].get_topic_name(), book_changelog)
        self._partitions = p.settings.kafka.partitions

    async def __call__(self, found: Iterable[Delivered], *, detected_at: datetime,
                       links: Mapping[str, tuple[str, ...]] | None = None) -> None:
        """``links``: person key -> that person's keys of before a rotation, still linked. A finding about such a
        person is offered first to the alerts of its condition under those keys (``AlertBook.continues``), so an
        alert opened before the rotation takes what follows it."""
        routed = []
        for item in found:
            finding, event, _ = item
            subject = subject_of(finding, event)
            key = fingerprint(finding.rule_id, subject, event.place, finding.scope)
            old = links.get(subject) if links and subject and subject == event.subject_key else None
            route = (*(fingerprint(finding.rule_id, k, event.place, finding.scope) for k in old), key) if old \
                else (key,)
            routed.append((item, route))
        await self._deliver(routed, detected_at)

    async def resume(self, item: Delivered, route: tuple[str, ...], *, detected_at: datetime) -> None:
        """Go on along ``route`` with a finding the alert under the fingerprint before it did not take."""
        await self._deliver([(item, route)], detected_at)

    async def _deliver(self, routed: Iterable[tuple[Delivered, tuple[str, ...]]], detected_at: datetime) -> None:
        owned = self._ownership.partitions(*self._topics)
        revisions: list[tuple[Alert, float | None]] = []
        remote: list[tuple[int, Delivered, tuple[str, ...]]] = []
        folded = 0
        for item, route in routed:
            finding, event, uploaded_at = item
            while len(route) > 1 and kafka_partition(route[0], self._partitions) in owned:
                if self._book.continues(route[0], finding, event):
                    route = route[:1]
                    break
                route = route[1:]
            key = route[0]
            part = kafka_partition(key, self._partitions)
            if part not in owned:
                remote.append((part, item, route))
                continue
            try:
                alerts = self._book.observe(finding, event, detected_at=detected_at, key=key)
            except Exception as exc:  # the topic path dead-letters it with the finding's record
                log.error("folding a %s finding in-process failed (%s); sent to the alert-book agent",
                          finding.rule_id, safe_error(exc))
                remote.append((part, item, (key,)))
                continue
            finally:
                self._view.flush(partition=part)  # before any await: the book's agents share this view
            folded += 1
            revisions.extend((alert, uploaded_at) for alert in alerts)
        HANDOFFS.labels(hop="findings", path="in_process").inc(folded)
        for alert, uploaded_at in revisions:
            await self._publish(alert, uploaded_at)
        findings_topic = self._p.topics["findings"]
        for part, (finding, event, uploaded_at), route in remote:
            record = to_record(finding, event, detected_at=detected_at, uploaded_at=uploaded_at,
                               route=route if len(route) > 1 else ())
            await self._p.publish(findings_topic, record.model_dump_json().encode(), key=route[0].encode(),
                                  partition=part)
        HANDOFFS.labels(hop="findings", path="topic").inc(len(remote))
