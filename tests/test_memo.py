"""Decoded values remembered by content: bounded, and never a value for other bytes."""

from __future__ import annotations

from streams.memo import ByContent


def test_the_same_bytes_give_the_value_remembered_and_other_bytes_nothing() -> None:
    memo: ByContent[bytes, dict[str, int]] = ByContent()
    value = {"a": 1}
    memo.remember(b'{"a":1}', value)
    assert memo.get(b'{"a":1}') is value
    assert memo.get(b'{"a":2}') is None


def test_it_never_holds_more_than_its_limit_starting_again_when_full() -> None:
    memo: ByContent[str, int] = ByContent(limit=3)
    for i in range(3):
        memo.remember(str(i), i)
    assert len(memo) == 3
    memo.remember("3", 3)
    assert len(memo) == 1 and memo.get("3") == 3 and memo.get("0") is None
