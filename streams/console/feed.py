"""The console's ends on Kafka: alert revisions and the place registers in, operators' actions out.

A ``TopicFollower`` is a thread with a consumer of its own, in no consumer
group: it assigns itself every partition of one topic, reads from the start
(the topic's retention is the console's memory) and hands each record to a
callback. It knows whether it is ``caught_up`` (at the end offsets it last
asked for) and when it last heard from the broker, for the page's badge.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client import Counter
from pydantic import ValidationError

from schemas import Alert, AlertAction
from streams.clients import kafka_python
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

CONSOLE_BAD_ALERTS = Counter("gridwatch_console_bad_alerts_total",
                             "Records on the alerts topic the console could not read as an Alert (skipped).")
CONSOLE_ACTIONS = Counter("gridwatch_console_actions_total", "Operator actions the console published.", ["action"])


class TopicFollower(threading.Thread):
    """Follows every partition of one topic from its start, handing each record's key and value to ``on_record``."""

    def __init__(self, kafka: KafkaSettings, logical: str, on_record: Callable[[bytes | None, bytes | None], None],
                 *, poll_ms: int = 200) -> None:
        super().__init__(name=f"console-{logical}", daemon=True)
        self._kafka = kafka
        self._topic = kafka.topic(logical)
        self._on_record = on_record
        self._poll_ms = poll_ms
        self._stopping = threading.Event()
        self.caught_up = threading.Event()
        self.heard_at = 0.0  # time.monotonic() of the last answer from the broker

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow()
            except Exception as exc:  # a broker gone away: say so, try again
                log.warning("console: following %s interrupted (%s); retrying", self._topic, type(exc).__name__)
                self._stopping.wait(2.0)

    def _follow(self) -> None:
        consumer = KafkaConsumer(**kafka_python(self._kafka), enable_auto_commit=False,
                                 request_timeout_ms=10_000)
        try:
            parts: list[TopicPartition] = []
            while not parts and not self._stopping.is_set():
                parts = [TopicPartition(self._topic, p)
                         for p in sorted(consumer.partitions_for_topic(self._topic) or ())]
                if not parts:
                    self._stopping.wait(0.5)
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends: dict[TopicPartition, int] = {}
            asked = 0.0
            while not self._stopping.is_set():
                for records in consumer.poll(timeout_ms=self._poll_ms).values():
                    for record in records:
                        self._on_record(record.key, record.value)
                now = time.monotonic()
                if now - asked >= 2.0:  # the broker answering is what "live" means
                    ends = consumer.end_offsets(parts)
                    asked = self.heard_at = now
                if not self.caught_up.is_set() and all(consumer.position(tp) >= end for tp, end in ends.items()):
                    self.caught_up.set()
        finally:
            consumer.close()


def alert_follower(kafka: KafkaSettings, on_alert: Callable[[Alert], None]) -> TopicFollower:
    """The ``alerts`` topic as ``Alert``s; a record that is not one is counted and skipped (the topic is ours:
    that is a defect to see on the metric, not a reason to stop the list)."""

    def take(_key: bytes | None, value: bytes | None) -> None:
        try:
            alert = Alert.model_validate_json(value or b"")
        except ValidationError:
            CONSOLE_BAD_ALERTS.inc()
            return
        on_alert(alert)

    return TopicFollower(kafka, "alerts", take)


class ActionPublisher:
    """Sends each operator action to ``alert-actions``, keyed by fingerprint (the alert book's partition)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._topic = kafka.topic("alert-actions")
        self._producer = KafkaProducer(**kafka_python(kafka), acks="all", linger_ms=0,
                                       request_timeout_ms=10_000, max_block_ms=10_000)

    def publish(self, action: AlertAction) -> None:
        """Blocks until the broker confirms (at most about 10 s); raises if it does not."""
        future = self._producer.send(self._topic, key=action.fingerprint.encode(),
                                     value=action.model_dump_json().encode())
        future.get(timeout=15)
        CONSOLE_ACTIONS.labels(action=action.action).inc()

    def close(self) -> None:
        self._producer.close(timeout=5)
