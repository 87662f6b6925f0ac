"""Pseudonymous keys and masking for personal data.

Raw ID numbers, names and phones stay inside the input and master-data topics.
Everything the pipeline publishes names a person by a masked ID number (for
people on the ground, who compare it with the card in front of them) and a
keyed hash (for joins), so logs, metrics, alerts and ClickHouse never hold
the register itself.
"""

from __future__ import annotations

import hmac


class PersonKeys:
    """Derives the stable pseudonymous key of a person from their ID number.

    The key is an HMAC, not a bare hash: ID numbers are a small, structured
    space that a plain hash would not protect against enumeration.
    """

    def __init__(self, *, secret: bytes) -> None:
        if not secret:
            raise ValueError("person key secret must not be empty")
        self._secret = secret

    def key(self, id_number: str) -> str:
        # hmac.digest: the one-shot C path, about five times cheaper than hmac.new per call
        return hmac.digest(self._secret, id_number.upper().encode("ascii"), "sha256").hex()[:20]


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
