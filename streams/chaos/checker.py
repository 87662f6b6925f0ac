"""The campaign's checker, in the style of Jepsen's Kafka checker: counts, not impressions.

A run is judged against two things it cannot influence: the set of events the
publisher had acknowledged by the broker (each one must be stored in ClickHouse
exactly once), and a fault-free reference run over the same input (its final
alerts, by ``alert_id``: fingerprint, status and count). The alert id is a hash
of rule, version and opening event, so the same condition opened by the same
event has the same id in both runs whatever the timing.

* ``lost``: acknowledged events with no row in ``enriched_events``;
* ``duplicated``: rows beyond the first per event id (read before merges);
* ``alerts_missing`` / ``alerts_extra``: alert ids only in the reference / only in the run;
* ``alerts_differing``: the same alert id with another final fingerprint, status or count (a doubled
  or a lost fold shows here);
* ``dead_letters_unexplained``: dead letters beyond the bad records the scenario sent on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

__all__ = ["FinalAlert", "Outcome", "check"]

FinalAlert = tuple[str, str, int]
"""An alert's final fingerprint, status and count."""

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


def check(acknowledged: Set[str], reference: Outcome, run: Outcome, *, bad_records: int = 0) -> dict[str, object]:
    """The counts of one run; every count is 0 when the run kept its promises."""
    lost = sorted(acknowledged - run.stored.keys())
    doubled = sorted(i for i, n in run.stored.items() if n > 1)
    missing = sorted(reference.alerts.keys() - run.alerts.keys())
    extra = sorted(run.alerts.keys() - reference.alerts.keys())
    differing = sorted(i for i in reference.alerts.keys() & run.alerts.keys() if reference.alerts[i] != run.alerts[i])
    return {
        "events": len(acknowledged),
        "lost": len(lost),
        "duplicated": sum(run.stored[i] - 1 for i in doubled),
        "alerts_expected": len(reference.alerts),
        "alerts_missing": len(missing),
        "alerts_extra": len(extra),
        "alerts_differing": len(differing),
        "dead_letters_unexplained": max(0, run.dead_letters - bad_records),
        "dead_letters_missing": max(0, bad_records - run.dead_letters),
        "samples": {
            "lost": lost[:SAMPLE], "duplicated": doubled[:SAMPLE], "alerts_missing": missing[:SAMPLE],
            "alerts_extra": extra[:SAMPLE],
            "alerts_differing": [(i, reference.alerts[i], run.alerts[i]) for i in differing[:SAMPLE]],
        },
    }
