"""The campaign's checker, in the style of Jepsen's Kafka checker: counts, not impressions.

A run is judged against two things it cannot influence: the set of events the
publisher had acknowledged by the broker (each one must be stored in ClickHouse
exactly once), and a fault-free reference run over the same input (its final
alerts, by fingerprint: rule, subject and place). Alerts are compared by
fingerprint, not by ``alert_id``: the id hashes the opening event, and which
of a person's events across partitions is judged first depends on timing in
any two runs, faults or not (two fault-free runs differed so). Per
fingerprint the runs must agree on the alerts' final statuses and on the
total count of findings folded in: a lost or doubled fold shows there.

* ``lost``: acknowledged events with no row in ``enriched_events``;
* ``duplicated``: rows beyond the first per event id (read before merges);
* ``alerts_missing`` / ``alerts_extra``: fingerprints only in the reference / only in the run;
* ``alerts_differing``: the same fingerprint with other final statuses or another total count;
* ``dead_letters_unexplained`` / ``dead_letters_missing``: dead letters beyond / short of what the contract says
  the malformed records the scenario sent on purpose must produce.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

__all__ = ["CLOCK_RULES", "FinalAlert", "Outcome", "by_fingerprint", "check"]

FinalAlert = tuple[str, str, int, str]
"""An alert's final fingerprint, status, count and rule id."""

CLOCK_RULES = frozenset({"silent_checkpoint"})
"""Rules fired by the absence of events as the watermark passes, not by an event: how far each partition's
watermark has got when a gate's silence is judged depends on timing, so two fault-free runs over the same input
already disagree on them (35 and 30 alerts in one pair). Counted apart (``clock_alerts_differing``), not as a
broken promise."""

SAMPLE = 5
"""Ids quoted per kind of discrepancy, to start the search from."""


@dataclass(frozen=True)
class Outcome:
    """What one run left in ClickHouse and on the dead-letter topic."""

    stored: Mapping[str, int]
    """Rows per event id in ``enriched_events``."""
    alerts: Mapping[str, FinalAlert]
    """Final state per alert id (the highest revision)."""
    dead_letters: int = 0
    dead_letter_reasons: Mapping[str, int] = field(default_factory=dict)
    replayed_across_stores: int = 0
    """Rows held by two workers' stores (several workers, embedded chDB each): not duplicates in one store."""


def by_fingerprint(alerts: Mapping[str, FinalAlert], *, clock: bool = False) -> dict[str, tuple[tuple[str, ...], int]]:
    """Per fingerprint: the sorted final statuses of its alerts and the total count folded into them; of the
    event-driven rules, or with ``clock`` of the ``CLOCK_RULES``."""
    statuses: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for fingerprint, status, count, rule_id in alerts.values():
        if (rule_id in CLOCK_RULES) != clock:
            continue
        statuses.setdefault(fingerprint, []).append(status)
        counts[fingerprint] = counts.get(fingerprint, 0) + count
    return {fp: (tuple(sorted(statuses[fp])), counts[fp]) for fp in statuses}


PROMISES = ("lost", "duplicated", "alerts_missing", "alerts_extra", "alerts_differing", "dead_letters_unexplained",
            "dead_letters_missing", "stuck", "crashes")
"""The counts a run that kept its promises has at 0 (``stuck`` and ``crashes``, agents that crashed and were
restarted, come from the runner, the rest from ``check``)."""


def check(acknowledged: Set[str], reference: Outcome, run: Outcome, *, dead_letters_expected: int = 0
          ) -> dict[str, object]:
    """The counts of one run; every count is 0 when the run kept its promises. ``dead_letters_expected``: what the
    contract says the malformed records the broker acknowledged must produce (``malformed.Upload``)."""
    lost = sorted(acknowledged - run.stored.keys())
    doubled = sorted(i for i, n in run.stored.items() if n > 1)
    ref, got = by_fingerprint(reference.alerts), by_fingerprint(run.alerts)
    ref_clock, got_clock = by_fingerprint(reference.alerts, clock=True), by_fingerprint(run.alerts, clock=True)
    missing = sorted(ref.keys() - got.keys())
    extra = sorted(got.keys() - ref.keys())
    differing = sorted(i for i in ref.keys() & got.keys() if ref[i] != got[i])
    return {
        "events": len(acknowledged),
        "lost": len(lost),
        "duplicated": sum(run.stored[i] - 1 for i in doubled),
        "alerts_expected": len(ref),
        "alerts_missing": len(missing),
        "alerts_extra": len(extra),
        "alerts_differing": len(differing),
        "clock_alerts_differing": len(ref_clock.keys() ^ got_clock.keys())
        + sum(1 for i in ref_clock.keys() & got_clock.keys() if ref_clock[i] != got_clock[i]),
        "dead_letters_unexplained": max(0, run.dead_letters - dead_letters_expected),
        "dead_letters_missing": max(0, dead_letters_expected - run.dead_letters),
        "samples": {  # fingerprints with their rule, to start the search from
            "lost": lost[:SAMPLE], "duplicated": doubled[:SAMPLE],
            "alerts_missing": [(i, _rule_of(reference, i)) for i in missing[:SAMPLE]],
            "alerts_extra": [(i, _rule_of(run, i)) for i in extra[:SAMPLE]],
            "alerts_differing": [(i, _rule_of(run, i), ref[i], got[i]) for i in differing[:SAMPLE]],
        },
    }


def _rule_of(outcome: Outcome, fingerprint: str) -> str:
    return next((rule for fp, _, _, rule in outcome.alerts.values() if fp == fingerprint), "")
