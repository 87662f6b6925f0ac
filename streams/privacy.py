"""Pseudonymous keys and masking for personal data.

Raw ID numbers, names and phones stay inside the input and master-data topics.
Everything the pipeline publishes names a person by a masked ID number (for
people on the ground, who compare it with the card in front of them) and a
keyed hash (for joins), so logs, metrics, alerts and ClickHouse never hold
the register itself.

The keyed hash is made under one of a ring of secrets (``Secret``), and a
person key says which: ``k2.3fa9…``. New data is keyed under the current
secret; a secret retired by a rotation is still held, for two reasons and for
as long as each lasts (``streams.keyring`` keeps the ring and the dates):

- for ``link_for`` after its retirement, the worker *links* a person's new key
  to the keys under it (``links``), so rule state carries over and an alert
  opened before the rotation takes the findings that follow it instead of a
  second alert being opened beside it;
- until the data it keyed has expired (the longest retention of any class
  holding person keys), a tracing query hashes an ID number under it too
  (``every_key``), so the days before the rotation can still be traced.

Then it is destroyed, and nothing computed from an ID number leads to what
it keyed. ``route`` is what survives a rotation on purpose: the partition a
person's rule state lives on (an integer the worker reduces modulo the
partition count, never stored or published), so the old and the new key of
one person meet on one partition.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SECRET_ID = re.compile(r"k[0-9]{1,6}")
"""A secret's id, as it leads a person key: ``k`` and a number."""

INLINE_SECRET_ID = "k0"  # noqa: S105 (an id, not a secret)
"""The id of a secret given inline (``GRIDWATCH_PRIVACY__PERSON_KEY_SECRET``): a ring of one."""


@dataclass(frozen=True, slots=True)
class Secret:
    """One secret of the ring. ``retired``: when a rotation replaced it for new data (``None``: current)."""

    id: str
    value: bytes
    created: datetime
    retired: datetime | None = None

    def __post_init__(self) -> None:
        if not SECRET_ID.fullmatch(self.id):
            raise ValueError(f"a person-key secret's id must be k and a number, not {self.id!r}")
        if not self.value:
            raise ValueError("person key secret must not be empty")

    def __repr__(self) -> str:  # never the value
        return f"Secret(id={self.id!r}, created={self.created.isoformat()}, retired={self.retired})"


def secret_of(person_key: str) -> str:
    """The id of the secret a person key was made under (``""`` if it names none)."""
    head, dot, _ = person_key.partition(".")
    return head if dot and SECRET_ID.fullmatch(head) else ""


class _Mac:
    """HMAC-SHA256 under one key, with the key's inner and outer SHA-256 states computed once (RFC 2104).

    ``hmac.digest`` looks the algorithm up in OpenSSL 3 on every call: about 2.7 µs for an ID number, against
    0.9 µs here (two copies of a hashed state, two updates), and the worker keys every new person it sees.
    The standard library's own keyed object copied per call (``hmac.new(key, digestmod="sha256").copy()``) took
    1.25 µs against 0.64 for this in one timeit run, so the construction is written out here.
    The result is the same bytes (``tests/test_privacy.py`` compares them).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:  # never the key
        return "_Mac()"


class PersonKeys:
    """Derives the pseudonymous keys of a person from their ID number, under a ring of secrets.

    A key is an HMAC, not a bare hash: ID numbers are a small, structured
    space that a plain hash would not protect against enumeration. ``clock``
    is injected (tests move it); the set of secrets still linked is looked up
    again at most once a minute of it.
    """

    def __init__(self, *, secret: bytes | None = None, secrets: Sequence[Secret] = (),
                 link_for: timedelta = timedelta(days=7),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if secret is not None:
            if secrets:
                raise ValueError("give a secret or a ring of secrets, not both")
            secrets = (Secret(INLINE_SECRET_ID, secret, datetime(1970, 1, 1, tzinfo=UTC)),)
        current = [s for s in secrets if s.retired is None]
        if len(current) != 1:
            raise ValueError(f"a ring of person-key secrets needs exactly one current secret, not {len(current)}")
        if len({s.id for s in secrets}) != len(secrets):
            raise ValueError("two person-key secrets share an id")
        self.current = current[0]
        self.retired = tuple(sorted((s for s in secrets if s.retired is not None),
                                    key=lambda s: s.retired or s.created, reverse=True))
        self._link_for = link_for
        self._clock = clock
        self._linked: tuple[Secret, ...] = ()
        self._linked_checked = float("-inf")
        self._macs = {s.id: _Mac(s.value) for s in (self.current, *self.retired)}

    def _under(self, secret: Secret, id_number: str) -> str:
        digest = self._macs[secret.id].digest(id_number.upper().encode("ascii")).hex()[:20]
        return f"{secret.id}.{digest}"

    def stamp(self) -> str:
        """Names the current secret without giving it away (its id and a keyed digest of a constant): a store
        keyed by person keys notes it, and rebuilds itself when a rotation has changed it."""
        return f"{self.current.id}:{hmac.digest(self.current.value, b'gridwatch stamp', 'sha256').hex()[:16]}"

    def key(self, id_number: str) -> str:
        """The key new data names this person by: under the current secret."""
        return self._under(self.current, id_number)

    def linked(self) -> tuple[Secret, ...]:
        """The retired secrets still linked to new data (retired less than ``link_for`` ago), newest first."""
        if not self.retired:
            return ()
        now = time.monotonic()
        if now - self._linked_checked >= 60.0:
            at = self._clock()
            self._linked = tuple(s for s in self.retired if s.retired is not None and at - s.retired < self._link_for)
            self._linked_checked = now
        return self._linked

    def links(self, id_number: str) -> tuple[str, ...]:
        """This person's keys under the linked retired secrets, newest first: where their state and open alerts
        of before the rotation are found. Internal to the worker: never published."""
        return tuple(self._under(s, id_number) for s in self.linked())

    def every_key(self, id_number: str) -> tuple[str, ...]:
        """This person's key under every secret held (the current first): for tracing back over a rotation."""
        return (self.key(id_number), *(self._under(s, id_number) for s in self.retired))

    @staticmethod
    def route(id_number: str) -> int:
        """Where this person's rule state lives, the same under every secret (reduced modulo the partitions)."""
        return zlib.crc32(id_number.upper().encode("ascii"))


def mask_id(id_number: str) -> str:
    """Keep the division (first 6) and the last 4, as on a printed receipt."""
    if len(id_number) != 18:
        return "*" * len(id_number)
    return f"{id_number[:6]}********{id_number[-4:]}"


def mask_plate(plate: str) -> str:
    """Keep the issuing prefix and the last two characters of a plate."""
    if len(plate) <= 4:
        return plate[0] + "*" * (len(plate) - 1)
    return f"{plate[:2]}{'*' * (len(plate) - 4)}{plate[-2:]}"
