from __future__ import annotations

import base64
import json

from schemas import EventBatch
from streams.codec import DecodedBatch, Rejected, dead_letter, decode_batch, decode_record
from tests.factories import RESIDENT_ID, RESIDENTS, passage, scan


def _raw(*events: object) -> bytes:
    return EventBatch(batch_id="b", source="cp", events=events).model_dump_json().encode()  # type: ignore[arg-type]


def test_valid_batch_decodes_in_one_piece() -> None:
    decoded = decode_batch(_raw(passage("e1"), scan("e2")))
    assert isinstance(decoded, DecodedBatch)
    assert [e.event_id for e in decoded.events] == ["e1", "e2"]
    assert decoded.rejected == []


def test_garbage_is_invalid_json() -> None:
    assert decode_batch(b"\xff{nope") == Rejected("invalid_json", "record value is not valid JSON")


def test_one_bad_event_is_rejected_alone_with_its_position() -> None:
    doc = json.loads(_raw(passage("e1"), scan("e2"), passage("e3")))
    doc["events"][1]["id_number"] = "NOT-AN-ID-" + RESIDENT_ID
    decoded = decode_batch(json.dumps(doc).encode())
    assert isinstance(decoded, DecodedBatch)
    assert [e.event_id for e in decoded.events] == ["e1", "e3"]
    [rejected] = decoded.rejected
    assert (rejected.reason, rejected.event_index) == ("schema_violation", 1)
    assert "id_number" in rejected.detail
    assert RESIDENT_ID not in rejected.detail  # the offending value never reaches the dead letter's text


def test_broken_envelope_rejects_the_whole_record() -> None:
    decoded = decode_batch(json.dumps({"events": []}).encode())
    assert isinstance(decoded, Rejected) and decoded.reason == "schema_violation"


def test_master_record_rejection_hides_values() -> None:
    doc = RESIDENTS[0].model_dump(mode="json") | {"phone": "call-me-13800000001"}
    from schemas import Resident

    rejected = decode_record(Resident, json.dumps(doc).encode())
    assert isinstance(rejected, Rejected) and "phone" in rejected.detail
    assert "13800000001" not in rejected.detail


def test_dead_letter_carries_original_bytes_and_position() -> None:
    letter = dead_letter(Rejected("invalid_json", "bad", None), raw=b"{x", topic="t", partition=3, offset=42)
    assert base64.b64decode(letter.original_b64) == b"{x"
    assert (letter.source_topic, letter.partition, letter.offset) == ("t", 3, 42)
