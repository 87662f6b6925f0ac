"""Creating and describing the project's own topics from settings.

Topics are created by us, not by broker auto-creation, so partitions,
replication and compaction are what the settings say. Creating is idempotent.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from streams.settings import TOPICS, KafkaSettings


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    partitions: int
    compacted: bool
    created: bool


class BrokerUnreachable(RuntimeError):
    pass


def admin_client(settings: KafkaSettings, *, wait_s: float = 30.0) -> KafkaAdminClient:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=settings.bootstrap, client_id="gridwatch-admin", request_timeout_ms=5000
            )
        except KafkaTimeoutError as exc:
            if time.monotonic() > deadline:
                raise BrokerUnreachable(
                    f"no Kafka broker at {settings.bootstrap} after {wait_s:.0f}s; "
                    "start one with `make broker` or set GRIDWATCH_KAFKA__BOOTSTRAP"
                ) from exc
            time.sleep(1.0)


def ensure_topics(settings: KafkaSettings) -> list[TopicInfo]:
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        infos: list[TopicInfo] = []
        for logical, compacted in TOPICS.items():
            name = settings.topic(logical)
            created = False
            if name not in existing:
                configs = {"cleanup.policy": "compact"} if compacted else {}
                try:
                    admin.create_topics(
                        [NewTopic(name, settings.partitions, settings.replication, topic_configs=configs)]
                    )
                    created = True
                except TopicAlreadyExistsError:
                    pass
            infos.append(TopicInfo(name, settings.partitions, compacted, created))
        _wait_for_metadata(admin, [i.name for i in infos])
        return infos
    finally:
        admin.close()


def create_topic(settings: KafkaSettings, name: str) -> None:
    """An extra topic beside the project's own (benchmark outputs), same partitioning."""
    admin = admin_client(settings)
    try:
        if name not in set(admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, settings.partitions, settings.replication)])
        _wait_for_metadata(admin, [name])
    finally:
        admin.close()


def describe_topics(settings: KafkaSettings) -> list[TopicInfo]:
    admin = admin_client(settings)
    try:
        names = [settings.topic(logical) for logical in TOPICS]
        present = set(admin.list_topics())
        described = {
            d["name"]: len(d["partitions"])
            for d in admin.describe_topics([n for n in names if n in present])
        }
        return [
            TopicInfo(settings.topic(lg), described.get(settings.topic(lg), 0), compacted, False)
            for lg, compacted in TOPICS.items()
        ]
    finally:
        admin.close()


def _wait_for_metadata(admin: KafkaAdminClient, names: list[str], wait_s: float = 30.0) -> None:
    """Topic creation is asynchronous in the broker; clients need the leaders to exist."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            described = admin.describe_topics(names)
            if all(d["partitions"] and all(p["leader_id"] >= 0 for p in d["partitions"]) for d in described):
                return
        except KafkaError:
            pass
        time.sleep(0.2)
    raise BrokerUnreachable(f"topics not ready after {wait_s:.0f}s")
