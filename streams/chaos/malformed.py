"""Generated malformed uploads for the ``bad-input`` scenario, each with what the contract says must become of it.

Two families, drawn from a seeded generator so a run can be repeated:

* **inside a real upload**: one of the day's uploads gets an extra event, a
  copy of one of its events with a fresh id and one thing wrong (a field
  missing, null, empty or of the wrong type, an unknown ``event_type``,
  full-width digits in an ID number, a naive or impossible time, a string or
  an array far past its limit, deep nesting, control characters, an unknown
  field, a future ``schema_version``, not an object at all). The upload's
  real events must all be stored and judged as in the fault-free run; the bad
  one must become one dead letter;
* **a record of its own**: not an upload at all (empty, a JSON scalar,
  truncated, non-UTF-8, UTF-16, binary, nesting a hundred thousand deep,
  wrong top-level types, no events, a batch id near a megabyte, a record over
  the broker's limit, arrays of bad events). It carries no event the contract
  could accept, so nothing of it may reach the rules; it must become the dead
  letters the contract says (one per record, or one per event of an envelope
  that parses).

What "the contract says" is ``decode_batch``, asked here once per generated
record: a candidate the contract would accept after all (an upload where a
refusable reading is dropped and the event kept, say) is drawn again, so every
record sent has a known outcome and the campaign counts the pipeline against
it. Records the broker refuses (over its size limit) are not input: the
publisher counts them apart.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas import EventBatch
from streams.codec import DecodedBatch, decode_batch

__all__ = ["Upload", "clean", "with_malformed"]

MEGABYTE = 1_000_000
HOST_MAX_BYTES = 500_000
"""A real upload made wrong stays under this, well inside the broker's limit: its real events must arrive."""
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@dataclass(frozen=True, slots=True)
class Upload:
    """One record for the events topic and what must become of it."""

    key: bytes | None
    value: bytes
    event_ids: tuple[str, ...]
    """Events the contract accepts: each must be stored exactly once."""
    dead_letters: int = 0
    """Dead letters the contract says this record must produce."""
    kind: str = ""
    """The malformation, or "" for one of the day's uploads as it was."""


def clean(batches: Sequence[EventBatch]) -> list[Upload]:
    """The day's uploads as they are."""
    return [Upload(b.source.encode(), b.model_dump_json().encode(), tuple(e.event_id for e in b.events))
            for b in batches]


# --- one event made wrong --------------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _huge_string(rng: random.Random) -> str:
    return "x" * (rng.randint(100_000, 300_000) if rng.random() < 0.01 else rng.randint(65, 20_000))


def _mutate_event(ev: dict[str, Any], rng: random.Random) -> tuple[str, Any]:
    """(kind, the event made wrong); ``ev`` is a fresh copy the caller owns."""
    place = "checkpoint_id" if "checkpoint_id" in ev else "compound_id"
    required = ["event_id", "event_time", "event_type", place]
    kinds: dict[str, Callable[[], Any]] = {
        "missing_field": lambda: ev.pop(rng.choice(required)),
        "null_field": lambda: ev.update({rng.choice(required): None}),
        "empty_string": lambda: ev.update({rng.choice(["event_id", place]): rng.choice(["", "   "])}),
        "wrong_type": lambda: ev.update({rng.choice(["event_id", place, "event_time"]):
                                         rng.choice([123, 1.5, True, [1, 2], {"a": 1}])}),
        "unknown_tag": lambda: ev.update({"event_type": rng.choice(["teleport", "QR_SCAN", "扫码", ""])}),
        "full_width_digits": lambda: ev.update({"id_number": str(ev.get("id_number") or "330822199001011234")
                                                .translate(_FULL_WIDTH)}),
        "naive_time": lambda: ev.update({"event_time": "2020-02-08T21:58:00"}),
        "impossible_time": lambda: ev.update({"event_time": rng.choice(
            ["2020-02-30T25:61:00+08:00", "yesterday", "", "2020-13-01T00:00:00Z"])}),
        "huge_string": lambda: ev.update({rng.choice(["event_id", place]): _huge_string(rng)}),
        "deep_nesting": lambda: ev.update({place: _nested(rng.randint(50, 900))}),
        "huge_array": lambda: ev.update({"event_id": list(range(
            rng.randint(20_000, 50_000) if rng.random() < 0.01 else rng.randint(100, 2_000)))}),
        "control_chars": lambda: ev.update({"event_id": "bad\x00\x07\x1b[31m"}),
        "unknown_field": lambda: ev.update({rng.choice(["colour", "__proto__", "eventId"]): "blue"}),
        "future_schema": lambda: ev.update({"schema_version": rng.choice([2, "1", None])}),
    }
    if rng.random() < 0.05:
        return "not_an_object", rng.choice([None, 42, "event", [], [1, 2], True])
    kind = rng.choice(sorted(kinds))
    kinds[kind]()
    return kind, ev


# --- records that are not an upload ------------------------------------------------------------------------------


def _bad_event(n: int) -> dict[str, Any]:
    """An event the contract rejects whatever the envelope around it: no time, no place."""
    return {"event_type": "passage", "event_id": f"bad-{n}", "direction": "in", "id_number": "330822199001011234"}


def _record(n: int, rng: random.Random) -> tuple[str, bytes]:
    envelope = {"batch_id": f"bad-{n}", "source": "cp-bad", "events": [_bad_event(n)]}
    text = json.dumps(envelope)
    kinds: dict[str, Callable[[], bytes]] = {
        "empty": lambda: b"",
        "json_scalar": lambda: rng.choice([b"null", b"42", b"true", b'"x"', b"[]", b"{}", b"-0", b"1e999"]),
        "truncated": lambda: text.encode()[: rng.randint(1, len(text) - 1)],
        "non_utf8": lambda: text.encode().replace(b"cp-bad", b"cp-\xff\xfe", 1),
        "utf16": lambda: text.encode("utf-16"),
        "binary": lambda: rng.randbytes(rng.randint(1, 4_096)),
        "deep_nesting": lambda: b"[" * (d := rng.randint(1_000, 100_000)) + b"]" * d,
        "wrong_top_level_types": lambda: json.dumps(
            {"batch_id": rng.choice([5, None, []]), "source": {"a": 1}, "events": rng.choice(["x", 3, None])}
        ).encode(),
        "no_events": lambda: json.dumps({"batch_id": f"bad-{n}", "source": "cp-bad", "events": []}).encode(),
        "near_megabyte": lambda: json.dumps({**envelope, "batch_id": "x" * rng.randint(900_000, 990_000)}).encode(),
        "over_megabyte": lambda: json.dumps({**envelope, "batch_id": "x" * rng.randint(MEGABYTE + 50_000,
                                                                                        MEGABYTE + 200_000)}).encode(),
        "bad_events_array": lambda: json.dumps({**envelope, "events": [
            _bad_event(n) if i % 2 else rng.choice([None, 1, {}, "x"])
            for i in range(10_001 if rng.random() < 0.001 else rng.randint(2, 40))]}).encode(),
        "bom": lambda: b"\xef\xbb\xbf" + text.encode(),
    }
    big = ("near_megabyte", "over_megabyte")
    kind = rng.choice(big if rng.random() < 0.004 else [k for k in sorted(kinds) if k not in big])
    return kind, kinds[kind]()


# --- the plan -------------------------------------------------------------------------------------------------


def _outcome(value: bytes, good: Sequence[str]) -> int | None:
    """Dead letters the contract says ``value`` must produce, if the events it accepts are exactly ``good``."""
    decoded = decode_batch(value)
    if not isinstance(decoded, DecodedBatch):
        return None if good else 1
    if decoded.refused or sorted(e.event_id for e in decoded.events) != sorted(good):
        return None
    return len(decoded.rejected)


def with_malformed(batches: Sequence[EventBatch], *, count: int, seed: int) -> tuple[list[Upload], Counter[str]]:
    """The day's uploads with ``count`` malformed records among them (half inside real uploads, half their own);
    and how many of each kind."""
    rng = random.Random(seed)  # noqa: S311 - test input, not secrets
    uploads = clean(batches)
    kinds: Counter[str] = Counter()
    extra: dict[int, list[Upload]] = {}  # own records, sent after the upload at that index
    for n in range(count):
        at = rng.randrange(len(uploads))
        for _ in range(20):  # a candidate the contract accepts after all is drawn again
            if rng.random() < 0.5:
                host = uploads[at]
                doc = json.loads(host.value)
                good = set(host.event_ids)
                copy = dict(rng.choice([e for e in doc["events"]
                                        if isinstance(e, dict) and isinstance(e.get("event_id"), str)
                                        and e["event_id"] in good]))
                copy["event_id"] = f"bad-{n}"
                kind, bad = _mutate_event(copy, rng)
                doc["events"].insert(rng.randint(0, len(doc["events"])), bad)
                value = json.dumps(doc, ensure_ascii=False).encode()
                letters = _outcome(value, host.event_ids) if len(value) < HOST_MAX_BYTES else None
                if letters is not None and letters == host.dead_letters + 1:
                    uploads[at] = Upload(host.key, value, host.event_ids, letters, f"{host.kind}+{kind}".strip("+"))
                    kinds[f"event:{kind}"] += 1
                    break
            else:
                kind, value = _record(n, rng)
                letters = _outcome(value, ())
                if letters:
                    key = rng.choice([None, b"", b"cp-bad", b"\xff" * 3])
                    extra.setdefault(at, []).append(Upload(key, value, (), letters, kind))
                    kinds[f"record:{kind}"] += 1
                    break
    out: list[Upload] = []
    for i, upload in enumerate(uploads):
        out.append(upload)
        out.extend(extra.get(i, ()))
    return out, kinds
