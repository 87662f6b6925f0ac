"""Operator accounts: who may log in, with which role, over which large grid.

Kept in one JSON file (``console.operators_file``), written by ``gridwatch
operators add``. Passwords are stored as scrypt hashes (the standard
library's, memory-hard: n=2**14, r=8, p=1, a random 16-byte salt per
account), never in clear. An operator's ``name`` is their operator id, the
``by`` of every ``AlertAction`` they make: an identifier from the duty
roster, never a person's name.

Roles: ``command`` (the street's command post) sees and acts on every grid;
``grid`` (grid staff) sees and acts only on alerts of their own large grid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Role = Literal["command", "grid"]
ROLES: tuple[Role, ...] = ("command", "grid")

_NAME = re.compile(r"^[\w.:\-]{1,64}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MIN_PASSWORD = 8


class OperatorError(ValueError):
    """An account that cannot be made or read; the message never carries a password."""


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role
    large_grid: str = ""
    password_hash: str = ""

    def sees(self, large_grid: str) -> bool:
        """Whether this operator may see and act on what belongs to ``large_grid``."""
        return self.role == "command" or large_grid == self.large_grid

    @property
    def scope(self) -> str:
        return "every grid" if self.role == "command" else f"large grid {self.large_grid}"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2, maxmem=64 * 1024 * 1024)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


class OperatorBook:
    """The accounts file: read at every login (so an account added while the console runs works at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Operator]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {o["name"]: Operator(**o) for o in raw["operators"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise OperatorError(f"unreadable operators file {self.path}: {type(exc).__name__}") from None

    def get(self, name: str) -> Operator | None:
        return self.load().get(name)

    def authenticate(self, name: str, password: str) -> Operator | None:
        operator = self.get(name)
        if operator is None:
            verify_password(password, hash_password("not-an-account"))  # same time for an unknown name
            return None
        return operator if verify_password(password, operator.password_hash) else None

    def add(self, name: str, password: str, role: Role, large_grid: str = "") -> Operator:
        """Create or replace one account; the file is written whole, readable by its owner only."""
        if not _NAME.match(name):
            raise OperatorError("an operator name is 1 to 64 letters, digits, '.', ':', '_' or '-'")
        if role not in ROLES:
            raise OperatorError(f"role must be one of {', '.join(ROLES)}")
        if role == "grid" and not large_grid:
            raise OperatorError("grid staff need their large grid (--grid)")
        if role == "command" and large_grid:
            raise OperatorError("the command post sees every grid: no --grid")
        if len(password) < MIN_PASSWORD:
            raise OperatorError(f"a password has at least {MIN_PASSWORD} characters")
        operator = Operator(name, role, large_grid, hash_password(password))
        accounts = self.load()
        accounts[name] = operator
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"operators": [asdict(o) for o in accounts.values()]}, out, indent=1)
        tmp.replace(self.path)
        return operator
