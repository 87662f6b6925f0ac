"""The bad-input scenario's generator: the kinds the campaign promises, each with a known outcome."""

from __future__ import annotations

from streams.chaos.malformed import HOST_MAX_BYTES, clean, with_malformed
from streams.codec import DecodedBatch, decode_batch
from streams.simulate import build_street, generate_day

STREET = build_street(seed=3, residents=300)
BATCHES = list(generate_day(STREET, seed=3, events=600))


def test_it_draws_every_kind_of_malformation_the_campaign_promises() -> None:
    _, kinds = with_malformed(BATCHES, count=3_000, seed=1)
    assert sum(kinds.values()) == 3_000
    promised = {"record:empty", "event:null_field", "record:near_megabyte", "record:over_megabyte",
                "record:non_utf8", "record:deep_nesting", "event:deep_nesting", "event:wrong_type",
                "event:unknown_tag", "event:full_width_digits", "event:huge_array", "record:bad_events_array"}
    assert promised <= kinds.keys()


def test_real_uploads_keep_every_real_event_and_own_records_carry_none() -> None:
    uploads, _ = with_malformed(BATCHES, count=1_500, seed=2)
    real = [u for u in uploads if u.event_ids]
    assert [u.event_ids for u in real] == [u.event_ids for u in clean(BATCHES)]  # same uploads, same order
    for upload in real:
        decoded = decode_batch(upload.value)
        assert isinstance(decoded, DecodedBatch)
        assert sorted(e.event_id for e in decoded.events) == sorted(upload.event_ids)
        assert len(decoded.rejected) == upload.dead_letters
        assert upload.dead_letters == 0 or len(upload.value) < HOST_MAX_BYTES
    own = [u for u in uploads if not u.event_ids]
    assert own and all(u.kind and u.dead_letters >= 1 for u in own)
    for upload in own:
        decoded = decode_batch(upload.value)
        assert not isinstance(decoded, DecodedBatch) or decoded.events == []


def test_the_same_seed_draws_the_same_records() -> None:
    a, _ = with_malformed(BATCHES, count=200, seed=9)
    b, _ = with_malformed(BATCHES, count=200, seed=9)
    c, _ = with_malformed(BATCHES, count=200, seed=10)
    assert a == b and a != c

