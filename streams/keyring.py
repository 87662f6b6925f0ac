"""The ring of person-key secrets in its file, and its life: made, rotated, destroyed when due.

The file (``GRIDWATCH_PRIVACY__PERSON_KEYRING_FILE``, mode 0600, outside
Kafka and ClickHouse; every process of a deployment reads the same one) is
JSON: ``{"secrets": [{"id", "secret" (hex), "created", "retired"}]}``, one
secret current (``retired`` null). ``gridwatch keys`` drives it:

- ``init`` makes a ring of one; ``rotate`` retires the current secret (new
  data is keyed under a new one from the next start of each process) and says
  until when the old one is linked and when it may be destroyed;
- a retired secret is due for destruction once the data it keyed has expired:
  ``retired + keep_for``, the longest retention of any class of data that
  holds person keys (``RetentionSettings.person_key_days``); ``destroy``
  removes the due ones and refuses the others unless forced;
- removing a secret rewrites the file and overwrites the old one in place
  first (``shred``), so its bytes do not stay on the disk under the new file.
"""

from __future__ import annotations

import json
import os
import secrets as random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from streams.privacy import SECRET_ID, Secret

SECRET_BYTES = 32


class KeyringError(Exception):
    """The keyring file is missing, unreadable or inconsistent; the message says which and what to do."""


def read_keyring(path: Path) -> list[Secret]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = [Secret(id=str(s["id"]), value=bytes.fromhex(s["secret"]),
                        created=datetime.fromisoformat(s["created"]),
                        retired=datetime.fromisoformat(s["retired"]) if s.get("retired") else None)
                 for s in raw["secrets"]]
    except FileNotFoundError:
        raise KeyringError(f"no person-key keyring at {path}: make one with `gridwatch keys init`") from None
    except (ValueError, KeyError, TypeError) as exc:  # the message names the field, never a secret
        raise KeyringError(f"the person-key keyring {path} is not readable ({type(exc).__name__})") from None
    if sum(s.retired is None for s in found) != 1:
        raise KeyringError(f"the person-key keyring {path} must hold exactly one current secret")
    return found


def write_keyring(path: Path, ring: Sequence[Secret]) -> None:
    """Write ``ring`` in place of the file: the new file complete on disk, the old one shredded, then swapped."""
    body = json.dumps({"secrets": [
        {"id": s.id, "secret": s.value.hex(), "created": s.created.isoformat(),
         "retired": s.retired.isoformat() if s.retired else None} for s in ring]}, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    if path.exists():
        _overwrite(path)
    os.replace(fresh, path)


def shred(path: Path) -> None:
    """Overwrite a key file with random bytes, flush it to the disk, then remove it."""
    _overwrite(path)
    path.unlink()


def _overwrite(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as out:
        out.write(os.urandom(size))
        out.flush()
        os.fsync(out.fileno())


def new_ring(now: datetime) -> list[Secret]:
    return [Secret("k1", random.token_bytes(SECRET_BYTES), now)]


def rotate(ring: Sequence[Secret], now: datetime) -> list[Secret]:
    """The current secret retired at ``now``, a new one current."""
    numbers = [int(s.id[1:]) for s in ring if SECRET_ID.fullmatch(s.id)]
    fresh = Secret(f"k{max(numbers, default=0) + 1}", random.token_bytes(SECRET_BYTES), now)
    return [*(Secret(s.id, s.value, s.created, s.retired or now) for s in ring), fresh]


def due_at(secret: Secret, keep_for: timedelta | None) -> datetime | None:
    """When ``secret`` may be destroyed: its retirement plus ``keep_for`` (``None``: current, or data kept for
    good, so only ``gridwatch purge`` or a forced destroy ends it)."""
    if secret.retired is None or keep_for is None:
        return None
    return secret.retired + keep_for


def destroy(ring: Sequence[Secret], ids: Sequence[str], *, now: datetime, keep_for: timedelta | None,
            force: bool = False) -> list[Secret]:
    """``ring`` without the secrets ``ids`` (every due one if ``ids`` is empty); refused for the current
    secret, an unknown id, and, unless ``force``, a secret whose data has not expired yet."""
    known = {s.id: s for s in ring}
    for wanted in ids:
        secret = known.get(wanted)
        if secret is None:
            raise KeyringError(f"no secret {wanted} in the keyring")
        if secret.retired is None:
            raise KeyringError(f"{wanted} is the current secret: rotate first")
        due = due_at(secret, keep_for)
        if not force and (due is None or due > now):
            raise KeyringError(f"{wanted} still keys data kept until {due.isoformat() if due else 'for good'}; "
                               "--force destroys it anyway (that data can then not be traced by ID number)")
    gone = set(ids) if ids else {s.id for s in ring if (due := due_at(s, keep_for)) is not None and due <= now}
    return [s for s in ring if s.id not in gone]
