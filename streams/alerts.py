"""From a finding to the alert the grid receives: identity, fingerprint, place.

Two hashes, for two questions:

* ``alert_id`` answers "is this the same alert?" for a replay. It is a hash of
  rule, rule version and the *opening* event id: a rule gives at most one
  finding per event, so that is unique, and a replayed event opens an alert
  with the same id, which consumers and ClickHouse drop instead of paging
  twice. Later revisions of the alert keep the id.
* ``fingerprint`` answers "is this the same condition?" for suppression. It is
  a hash of rule id, subject and place, so repeats fold into one open alert:

  - subject: ``finding.subject`` when the rule names one (``dwelling:<id>``,
    ``checkpoint:<id>``), else the event's pseudonymous person key; an event
    with neither (a perimeter report) has an empty subject, so all such
    findings of a rule at one place are one condition.
  - place: the checkpoint id, else the compound id, each with its kind as a
    prefix so a checkpoint and a compound with the same id never collide. A
    person at two gates of a compound is two conditions: each gate's guards
    have to act on their own alert.
  - the rule version is left out on purpose: a new version of a rule still
    watches the same condition and must not reopen every alert at deploy.

Both hashes are over pseudonymous values only; no ID number reaches them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from schemas import Alert, EnrichedEvent, Place
from streams.rules.base import Finding

__all__ = ["alert_id", "build_alert", "fingerprint", "place_key", "subject_of"]

_SEP = "\x1f"


def alert_id(rule_id: str, rule_version: int, event_ids: tuple[str, ...]) -> str:
    """Id of the alert a rule opens on these events; order of ``event_ids`` does not matter."""
    material = _SEP.join((rule_id, str(rule_version), *sorted(event_ids)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def subject_of(finding: Finding, event: EnrichedEvent) -> str:
    """What the alert is about: the rule's own subject, else the person key, else nothing."""
    return finding.subject or event.subject_key


def place_key(place: Place, scope: str = "") -> str:
    """The place part of a fingerprint: the checkpoint, else the compound, else nowhere (scope "subject")."""
    if scope == "subject":
        return ""
    if place.checkpoint_id and scope != "compound":
        return f"checkpoint:{place.checkpoint_id}"
    if place.compound_id:
        return f"compound:{place.compound_id}"
    return ""


def fingerprint(rule_id: str, subject: str, place: Place, scope: str = "") -> str:
    """One condition: a rule, about one subject, at one place."""
    material = _SEP.join((rule_id, subject, place_key(place, scope)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def build_alert(finding: Finding, event: EnrichedEvent, *, detected_at: datetime) -> Alert:
    """Revision 1 of the alert ``finding`` opens on ``event``.

    ``event_ids`` lists the triggering event first, then the earlier events
    that make up the finding. The dwelling is where the event happened if
    known (a household visit), else where the person is registered.
    """
    event_ids = (event.event_id, *(i for i in finding.related_event_ids if i != event.event_id))
    return Alert(
        alert_id=alert_id(finding.rule_id, finding.rule_version, (event.event_id,)),
        rule_id=finding.rule_id,
        rule_version=finding.rule_version,
        severity=finding.severity,
        event_time=event.event_time,
        detected_at=detected_at,
        place=event.place,
        dwelling_id=event.dwelling_id or event.home_dwelling_id,
        subject_masked=event.subject_masked,
        subject_key=event.subject_key,
        event_ids=event_ids,
        summary_zh=finding.summary_zh,
        summary_en=finding.summary_en,
        action=finding.action,
        fingerprint=fingerprint(finding.rule_id, subject_of(finding, event), event.place, finding.scope),
        last_event_time=event.event_time,
        updated_at=detected_at,
        updated_by=f"rule:{finding.rule_id}",
    )
