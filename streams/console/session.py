"""Sessions in a signed cookie, and the CSRF token that goes with each.

A cookie is ``name.issued.nonce.signature``: HMAC-SHA256 over the rest with
the console's secret, so it cannot be made or altered without it; it expires
``max_age`` seconds after issue. The operator's role and grid are read from
the accounts file on every request, never from the cookie, so a changed or
removed account takes effect at once. The CSRF token is an HMAC of the
session's nonce: a page carries it, every POST must send it back (form field
or ``X-CSRF-Token`` header), and a page of another site cannot know it. The
cookie is also ``HttpOnly`` and ``SameSite=Strict``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "gridwatch_session"


@dataclass(frozen=True)
class Session:
    name: str
    nonce: str
    csrf: str


class SessionSigner:
    def __init__(self, secret: bytes, *, max_age_s: float) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret needs at least 16 bytes")
        self._secret = secret
        self.max_age_s = max_age_s

    def issue(self, name: str, *, now: float, purpose: str = "session") -> str:
        """A signed token for ``name``; ``purpose`` keeps a token made for one use (the login form's) from
        passing for another (a session)."""
        body = f"{name}.{int(now)}.{secrets.token_hex(12)}"
        return f"{body}.{self._sign(purpose, body)}"

    def read(self, cookie: str | None, *, now: float, purpose: str = "session") -> Session | None:
        """The session a cookie carries, or None if it is missing, altered, expired or made for another purpose."""
        if not cookie or cookie.count(".") < 3:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(purpose, body)):
            return None
        name, issued, nonce = body.rsplit(".", 2)
        try:
            age = now - int(issued)
        except ValueError:
            return None
        if age < 0 or age > self.max_age_s:
            return None
        return Session(name=name, nonce=nonce, csrf=self._sign("csrf", nonce))

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf, token or "")

    def _sign(self, purpose: str, text: str) -> str:
        return hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()
