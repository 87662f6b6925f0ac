"""Creating and describing the project's own topics from settings.

Topics are created by us, not by broker auto-creation, so partitions,
replication and compaction are what the settings say. Creating is idempotent.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from streams.clients import kafka_python
from streams.settings import TOPICS, KafkaSettings, RetentionSettings


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    partitions: int
    compacted: bool
    created: bool


class BrokerUnreachable(RuntimeError):
    pass


def _unreachable(bootstrap: str, wait_s: float) -> BrokerUnreachable:
    return BrokerUnreachable(f"no Kafka broker at {bootstrap} after {wait_s:.0f}s; "
                             "start one with `make broker` or set GRIDWATCH_KAFKA__BOOTSTRAP")


def _wait_for_listener(bootstrap: str, deadline: float, wait_s: float) -> None:
    """Until one bootstrap address accepts a TCP connection: kafka-python's own bootstrap retries for about
    30 s whatever its timeouts, logging each attempt, where a missing broker deserves one line at once."""
    addresses = []
    for entry in bootstrap.split(","):
        host, _, port = entry.strip().rpartition(":")
        addresses.append((host.strip("[]") or "localhost", int(port) if port.isdigit() else 9092))
    while True:
        for address in addresses:
            try:
                socket.create_connection(address, timeout=1.0).close()
                return
            except OSError:
                continue
        if time.monotonic() > deadline:
            raise _unreachable(bootstrap, wait_s)
        time.sleep(0.5)


def admin_client(settings: KafkaSettings, *, wait_s: float | None = None) -> KafkaAdminClient:
    """An admin client, waiting up to ``wait_s`` (default: the ``connect_wait_s`` setting) for the broker."""
    wait_s = settings.connect_wait_s if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    _wait_for_listener(settings.bootstrap, deadline, wait_s)
    while True:
        try:
            return KafkaAdminClient(**kafka_python(settings), client_id="gridwatch-admin", request_timeout_ms=5000)
        except KafkaTimeoutError as exc:
            if time.monotonic() > deadline:
                raise _unreachable(settings.bootstrap, wait_s) from exc
            time.sleep(1.0)


def ensure_topics(settings: KafkaSettings, extra: Mapping[str, bool] | None = None,
                  retention: RetentionSettings | None = None) -> list[TopicInfo]:
    """The project's topics, and ``extra`` ones (name -> compacted), created if missing; returns once every one
    is in the broker's metadata with its leaders."""
    wanted = {settings.topic(logical): compacted for logical, compacted in TOPICS.items()} | dict(extra or {})
    keep = {settings.topic(lg): _ms(days) for lg, days in (retention.topic_days() if retention else {}).items()}
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        infos: list[TopicInfo] = []
        for name, compacted in wanted.items():
            created = False
            if name in existing and name in keep:  # a changed policy reaches topics made before it
                admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name,
                                                    configs={"retention.ms": keep[name]})])
            if name not in existing:
                configs = {"cleanup.policy": "compact"} if compacted else {}
                if name in keep:
                    configs["retention.ms"] = keep[name]
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


def _ms(days: float) -> str:
    return "-1" if days == 0 else str(int(days * 86_400_000))


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
