"""``gridwatch dead-letters``: letters listed without their contents, and replayed with the key, on the real broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.codec import Rejected, dead_letter
from streams.deadletters import letters, replay
from streams.sealing import Sealer
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.bus import Bus
from tests.factories import RESIDENT_ID

pytestmark = pytest.mark.integration


def test_letters_list_without_their_contents_and_replay_to_their_source_only_with_the_key(
        pipeline_settings: Settings, tmp_path: Path) -> None:
    ensure_topics(pipeline_settings.kafka)
    sealer = Sealer.from_file(tmp_path / "dl.key")
    events = pipeline_settings.kafka.topic("events")
    bad_event = {"event_type": "passage", "event_id": "", "id_number": RESIDENT_ID}
    whole = b'{"events": [' + json.dumps(bad_event).encode()  # truncated JSON
    bus = Bus(pipeline_settings)
    made = [
        dead_letter(Rejected("invalid_json", "record value is not valid JSON"), raw=whole, topic=events,
                    partition=0, offset=11, sealer=sealer),
        dead_letter(Rejected("schema_violation", "event_id: too short", 3), raw=json.dumps(bad_event).encode(),
                    topic=events, partition=1, offset=12, sealer=sealer),
        dead_letter(Rejected("invalid_json", "x"), raw=b"{", topic=events, partition=0, offset=13,
                    sealer=Sealer(bytes(32))),  # another key
    ]
    for d in made:
        bus.send("dead-letters", events.encode(), d.model_dump_json().encode())
    bus.producer.flush()

    listed = [d for _, _, d in letters(pipeline_settings)]
    assert sorted((d.reason, d.offset) for d in listed) == [("invalid_json", 11), ("invalid_json", 13),
                                                          ("schema_violation", 12)]
    assert all(RESIDENT_ID not in d.model_dump_json() for d in listed)
    assert replay(pipeline_settings, sealer, dry_run=True).sent == 2

    result = replay(pipeline_settings, sealer)
    assert (result.sent, result.wrong_key, result.truncated) == (2, 1, 0)
    raw_values = consume_raw(pipeline_settings, 2)
    assert whole in raw_values  # the whole record, as it was
    [upload] = [json.loads(v) for v in raw_values if v != whole]  # the one event, as an upload of its own
    assert upload["batch_id"] == "replay-1-12-3" and upload["events"] == [bad_event]
    bus.close()


def consume_raw(settings: Settings, n: int, timeout: float = 60.0) -> list[bytes]:
    """The first ``n`` record values of the events topic, waiting up to ``timeout`` for them."""
    import time

    from kafka import KafkaConsumer

    from streams.clients import kafka_python

    consumer = KafkaConsumer(settings.kafka.topic("events"), **kafka_python(settings.kafka),
                             auto_offset_reset="earliest", enable_auto_commit=False)
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got += [r.value for r in records]
        return got
    finally:
        consumer.close()
