"""What an operator does to an alert, as published on the alert-actions topic.

An action names the alert twice: by ``alert_id`` (which alert the operator
saw) and by ``fingerprint`` (the key the alert book is partitioned and stored
by), so the worker can route the action to the partition that holds the
alert without a lookup. ``by`` is an operator id from the duty roster, never a
person's name: actions are stored with the alert's history and read by every
grid.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import SCHEMA_VERSION, Contract, Ident

ActionKind = Literal["acknowledge", "resolve", "comment"]


class AlertAction(Contract):
    """One operator action on one alert; ``action_id`` is unique per action (the operator's client makes it)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    action_id: Ident
    alert_id: str = Field(min_length=1, max_length=64)
    fingerprint: str = Field(min_length=1, max_length=64)
    action: ActionKind
    by: Ident = Field(description="Operator id, not a name.")
    at: AwareDatetime
    note: str = Field(default="", max_length=500, description="Free text; no ID numbers, names or phones.")

    @model_validator(mode="after")
    def _comment_has_a_note(self) -> AlertAction:
        # A comment without text would publish a revision that changes nothing.
        if self.action == "comment" and not self.note:
            raise ValueError("a comment needs a note")
        return self


__all__ = ["ActionKind", "AlertAction"]
