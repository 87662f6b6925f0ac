"""Register mismatch (反向纠察): the provincial and the county register disagree about a person.

Not a rule over events: the worker calls ``compare`` whenever either
register's record of a person changes (the person-records topic), with both
records from its register store. A disagreement is a re-check task for the
person's grid; agreement again returns a finding with ``resolves=True``, so
the open task closes itself. ``compare`` does not know whether a task is open
(it is pure): the caller keeps that (the alert book's open alert with this
rule and subject) and drops a resolving finding when nothing is open.

Each change is judged against the other register *as it stood then*, in
event time (the records' ``updated_at``), so the outcome does not depend on
how far the worker lags the topic: ``stood_then`` says whether the other
register's latest record, the only one the store keeps, is that one. If the
other register has changed since, this change is not judged: that later
change is, against this register as it stood then.

The finding names the differing fields, never their values: an address is
personal, and a quarantine flag or a health code is health data. Its subject
is the person key, so the task of one person is one alert however often the
records change.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from schemas import PersonRecord, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams

RegisterField = Literal["address", "quarantined", "health_code"]
DEFAULT_FIELDS: Final[tuple[RegisterField, ...]] = ("address", "quarantined", "health_code")
_KNOWN: Final = frozenset(get_args(RegisterField))
_URGENT: Final = frozenset({"quarantined", "health_code"})  # a person's risk status, not just paperwork
_FIELD_ZH: Final = {"address": "住址", "quarantined": "隔离状态", "health_code": "健康码"}


def stood_then(changed: PersonRecord | None, other_latest: PersonRecord | None) -> bool:
    """Whether ``other_latest`` is the other register's record as it stood when ``changed`` was made."""
    if changed is None or other_latest is None:  # a deletion, or nothing there: judged on what is there
        return True
    return other_latest.updated_at <= changed.updated_at


class RegisterMismatch(BaseRule):
    rule_id = "register_mismatch"
    version = 1

    def __init__(self, *, fields: tuple[RegisterField, ...] = DEFAULT_FIELDS) -> None:
        self.fields = _checked(fields)

    def compare(
        self,
        county: PersonRecord | None,
        provincial: PersonRecord | None,
        *,
        person_key: str,
        fields: tuple[RegisterField, ...] | None = None,
    ) -> Finding | None:
        """A finding naming the fields the registers disagree on, a resolving finding if they agree.

        ``person_key`` becomes the finding's subject (the records carry the raw
        ID number, which this module never touches). A field empty in either
        record (no address, no health code) is unknown there, not a
        disagreement. With only one register knowing the person there is
        nothing to compare yet (records arrive from the two systems at
        different times): None, which leaves an open task as it is; with
        neither, the person has left both registers and any task resolves.
        """
        compared = self.fields if fields is None else _checked(fields)
        if county is None and provincial is None:
            return self._resolved(person_key)
        if county is None or provincial is None:
            return None
        differing = [f for f in compared if _differs(getattr(county, f), getattr(provincial, f))]
        if not differing:
            return self._resolved(person_key)
        urgent = any(f in _URGENT for f in differing)
        return Finding(
            self.rule_id,
            self.version,
            Severity.HIGH if urgent else Severity.WARNING,
            "省、县两级登记不一致：" + "、".join(_FIELD_ZH[f] for f in differing) + "，请网格反向纠察",
            "Provincial and county registers disagree on " + ", ".join(differing) + ": re-check the person",
            "visit the person, establish the true record and correct the wrong register",
            subject=person_key,
        )

    def _resolved(self, person_key: str) -> Finding:
        return Finding(
            self.rule_id,
            self.version,
            Severity.INFO,
            "省、县两级登记已一致",
            "Provincial and county registers agree again",
            subject=person_key,
            resolves=True,
        )


def _differs(a: object, b: object) -> bool:
    if a is None or b is None or a == "" or b == "":
        return False
    return a != b


def _checked(fields: tuple[RegisterField, ...]) -> tuple[RegisterField, ...]:
    unknown = [f for f in fields if f not in _KNOWN]
    if unknown or not fields:
        raise ValueError(f"register fields must be a non-empty selection of {sorted(_KNOWN)}; got {unknown}")
    return fields


class RegisterMismatchParams(RuleParams):
    fields: tuple[RegisterField, ...] = Field(
        default=DEFAULT_FIELDS, min_length=1, description="What the provincial and the county register must agree on."
    )

    @field_validator("fields")
    @classmethod
    def _unique(cls, fields: tuple[RegisterField, ...]) -> tuple[RegisterField, ...]:
        if len(set(fields)) != len(fields):
            raise PydanticCustomError("duplicate_field", "a field is listed twice")
        return fields


DEFINITION: Final = RuleDefinition(
    rule=RegisterMismatch, params=RegisterMismatchParams, severity=Severity.WARNING, judged="registers",
    build=lambda p, needs: RegisterMismatch(fields=p.fields),
)
