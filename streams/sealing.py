"""Dead letters' originals sealed: AES-256-GCM under a key kept outside Kafka and ClickHouse.

A rejected record can hold anything a terminal sent, ID numbers included, so
the dead-letter topic carries it only sealed: ``nonce (12 bytes) ‖ ciphertext
‖ tag`` in base64, with the id of the key (the first 16 hex digits of the
key's SHA-256) on every letter, so a rotated key can still open older letters
while it is kept. The associated data binds a sealed original to where it came
from (topic, partition, offset, event index): a sealed value moved onto
another letter does not open.

The key is one file (32 random bytes, hex, mode 0600), made on first use;
every worker of a deployment must be given the same file, and
``gridwatch dead-letters replay`` needs it to re-publish.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12
OVERHEAD = NONCE + 16
"""Bytes a sealed value adds to its plaintext (before base64)."""


class SealError(ValueError):
    """A sealed value that does not open with this key (wrong key, altered, or moved)."""


def where(topic: str, partition: int, offset: int, event_index: int | None) -> bytes:
    return f"{topic}/{partition}/{offset}/{'' if event_index is None else event_index}".encode()


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a dead-letter key is 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:16]

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> Sealer:
        """The key in ``path`` (hex); made there, readable by its owner only, if missing and ``create``."""
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"no dead-letter key at {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another worker made it first
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise ValueError(f"the dead-letter key at {path} is not hex") from None
        return cls(key)

    def seal(self, plain: bytes, context: bytes) -> str:
        nonce = secrets.token_bytes(NONCE)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plain, self.key_id.encode() + context)).decode()

    def open(self, sealed: str, context: bytes) -> bytes:
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:NONCE], raw[NONCE:], self.key_id.encode() + context)
        except InvalidTag:
            raise SealError("this letter does not open with this key (another key, or altered)") from None
