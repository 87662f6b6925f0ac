"""How every Kafka client of ours connects: plaintext, or SCRAM-SHA-512 over TLS with the settings' credentials.

One place for the three client libraries the project uses (kafka-python for
producers, admin and test clients; aiokafka for the register replicator;
Faust for the worker), so a secured broker is one setting away for all of
them and none reads a password on its own.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

from kafka import TopicPartition

from streams.settings import KafkaSettings

MECHANISM = "SCRAM-SHA-512"


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """Verifies the broker's certificate against the configured CA, and its name (127.0.0.1 / localhost)."""
    context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def kafka_python(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
    if kafka.security_protocol == "PLAINTEXT":
        return {"bootstrap_servers": kafka.bootstrap}
    return {"bootstrap_servers": kafka.bootstrap, "security_protocol": "SASL_SSL", "sasl_mechanism": MECHANISM,
            "sasl_plain_username": kafka.sasl_username, "sasl_plain_password": kafka.password(),
            "ssl_context": ssl_context(kafka)}


def aiokafka(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's clients: the same names as kafka-python's, by aiokafka's design."""
    return kafka_python(kafka)


def records_to_end(consumer: Any, topic: str, *, max_records: int | None = None) -> Iterator[Any]:
    """Every record of ``topic`` from its start to the end offsets it has now (a kafka-python consumer of no
    group, assigned here): how a command or a check reads a topic whole."""
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not parts:
        return
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        for records in consumer.poll(timeout_ms=1000, max_records=max_records).values():
            yield from records


def faust_credentials(kafka: KafkaSettings) -> Any:
    """``broker_credentials`` for ``faust.App`` (None: plaintext)."""
    if kafka.security_protocol == "PLAINTEXT":
        return None
    from faust.auth import SASLCredentials

    return SASLCredentials(username=kafka.sasl_username, password=kafka.password(), ssl_context=ssl_context(kafka),
                           mechanism=MECHANISM)
