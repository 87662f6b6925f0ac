from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from schemas import DeadLetter, EventBatch
from streams.codec import DEAD_LETTER_MAX_BYTES, DecodedBatch, Rejected, dead_letter, decode_batch, decode_record
from streams.sealing import Sealer, SealError, where
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


SEALER = Sealer(bytes(range(32)))


def opened(letter: DeadLetter) -> bytes:
    return SEALER.open(letter.sealed_b64, where(letter.source_topic, letter.partition, letter.offset,
                                                letter.event_index))


def test_dead_letter_carries_the_original_sealed_and_its_position() -> None:
    raw = b'{"id_number": "330822198001011234"'
    letter = dead_letter(Rejected("invalid_json", "bad", None), raw=raw, topic="t", partition=3, offset=42,
                         sealer=SEALER)
    assert opened(letter) == raw and letter.key_id == SEALER.key_id
    assert b"330822198001011234" not in letter.model_dump_json().encode()
    assert base64.b64encode(raw).decode()[:16] not in letter.model_dump_json()
    assert (letter.source_topic, letter.partition, letter.offset) == ("t", 3, 42)
    assert (letter.original_size, letter.original_truncated) == (len(raw), False)


def test_a_sealed_original_opens_only_with_its_key_and_on_its_own_letter() -> None:
    letter = dead_letter(Rejected("invalid_json", "bad"), raw=b"{x", topic="t", partition=3, offset=42,
                         sealer=SEALER)
    with pytest.raises(SealError):
        Sealer(bytes(32)).open(letter.sealed_b64, where("t", 3, 42, None))
    with pytest.raises(SealError):  # moved onto another letter
        SEALER.open(letter.sealed_b64, where("t", 3, 43, None))


def test_the_dead_letter_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "dl.key"
    first = Sealer.from_file(path)
    assert path.stat().st_mode & 0o077 == 0
    assert Sealer.from_file(path).key_id == first.key_id
    with pytest.raises(FileNotFoundError):
        Sealer.from_file(tmp_path / "missing.key", create=False)


def test_a_dead_letter_for_a_record_near_the_request_limit_stays_under_it_and_says_what_it_cut() -> None:
    raw = b"\xfe" + b"x" * 999_000  # a bad record the broker accepted: in base64 a third larger than its limit
    letter = dead_letter(Rejected("invalid_json", "bad"), raw=raw, topic="t", partition=0, offset=7, sealer=SEALER)
    assert len(letter.model_dump_json().encode()) <= DEAD_LETTER_MAX_BYTES
    kept = opened(letter)
    assert letter.original_truncated and raw.startswith(kept) and len(kept) > 600_000
    assert letter.original_size == len(raw)


def test_a_dead_letter_just_under_the_limit_carries_the_whole_original() -> None:
    small = dead_letter(Rejected("invalid_json", "bad"), raw=b"", topic="t", partition=0, offset=7, sealer=SEALER)
    room = DEAD_LETTER_MAX_BYTES - len(small.model_dump_json()) - 100
    raw = b"y" * (room // 4 * 3 - 28)
    letter = dead_letter(Rejected("invalid_json", "bad"), raw=raw, topic="t", partition=0, offset=7, sealer=SEALER)
    assert not letter.original_truncated and opened(letter) == raw


def test_an_impossible_reading_is_dropped_and_named_and_the_passage_kept() -> None:
    doc = json.loads(_raw(passage("e1"), passage("e2", health_code="red"), scan("e3")))
    doc["events"][0]["temperature_c"] = 99.9
    doc["events"][1]["declared_origin"] = "Hangzhou"
    doc["events"][2]["health_code"] = "purple"
    decoded = decode_batch(json.dumps(doc).encode())
    assert isinstance(decoded, DecodedBatch) and decoded.rejected == []
    assert [e.event_id for e in decoded.events] == ["e1", "e2", "e3"]
    assert decoded.events[0].temperature_c is None  # type: ignore[union-attr]
    assert decoded.events[1].health_code == "red"  # type: ignore[union-attr]  # the other readings stay
    assert {i: [why.split(":")[0] for why in w] for i, w in decoded.refused.items()} == {
        0: ["temperature_c"], 1: ["declared_origin"], 2: ["health_code"]}
    assert "45" in decoded.refused[0][0] and "99.9" not in decoded.refused[0][0]  # why, never the value


def test_an_event_wrong_beyond_its_readings_is_still_rejected_whole() -> None:
    doc = json.loads(_raw(passage("e1"), passage("e2"), passage("e3")))
    doc["events"][0]["temperature_c"] = 99.9
    doc["events"][0]["id_number"] = "NOT-AN-ID"  # identity is never refusable
    doc["events"][1]["colour"] = "blue"  # an unknown field: a producer off the contract
    del doc["events"][2]["checkpoint_id"]  # where it happened
    decoded = decode_batch(json.dumps(doc).encode())
    assert isinstance(decoded, DecodedBatch) and decoded.events == [] and decoded.refused == {}
    assert [r.event_index for r in decoded.rejected] == [0, 1, 2]


def test_a_rejected_event_s_letter_carries_that_event_alone_not_its_whole_upload() -> None:
    goods = [passage(f"g{i}") for i in range(200)]
    doc = json.loads(_raw(*goods))
    doc["events"][7]["event_id"] = ""  # one bad event in a large upload
    doc["events"][9] = {"event_type": "teleport"}
    raw = json.dumps(doc).encode()
    decoded = decode_batch(raw)
    assert isinstance(decoded, DecodedBatch) and len(decoded.events) == 198
    letters = [dead_letter(r, raw=r.item or raw, topic="events", partition=0, offset=5, sealer=SEALER)
               for r in decoded.rejected]
    assert [json.loads(opened(letter)) for letter in letters] == [
        doc["events"][7], doc["events"][9]]
    assert all(letter.original_size and letter.original_size < len(raw) / 50 for letter in letters)


def test_a_record_nested_past_the_parser_s_depth_is_invalid_json_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert decode_batch(deep) == Rejected("invalid_json", "record value is nested deeper than the JSON parser allows")
    assert isinstance(decode_record(EventBatch, deep), Rejected)
