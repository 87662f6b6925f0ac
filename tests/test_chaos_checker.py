"""The fault campaign's checker: every kind of broken promise is counted, a kept one counts 0."""

from __future__ import annotations

from streams.chaos.checker import Outcome, check

REFERENCE = Outcome(stored={"e1": 1, "e2": 1, "e3": 1},
                    alerts={"a1": ("fp1", "open", 3), "a2": ("fp2", "resolved", 1)})


def test_a_run_that_matches_the_reference_counts_nothing() -> None:
    counts = check({"e1", "e2", "e3"}, REFERENCE, REFERENCE)
    assert {k: v for k, v in counts.items() if k not in ("samples", "events", "alerts_expected")} == {
        "lost": 0, "duplicated": 0, "alerts_missing": 0, "alerts_extra": 0, "alerts_differing": 0,
        "dead_letters_unexplained": 0, "dead_letters_missing": 0}
    assert (counts["events"], counts["alerts_expected"]) == (3, 2)


def test_lost_and_doubled_events_are_counted_against_what_the_broker_acknowledged() -> None:
    run = Outcome(stored={"e1": 3, "e3": 1, "e-unacked": 1}, alerts=REFERENCE.alerts)
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["lost"], counts["duplicated"]) == (1, 2)
    assert counts["samples"] == {"lost": ["e2"], "duplicated": ["e1"], "alerts_missing": [], "alerts_extra": [],
                                 "alerts_differing": []}


def test_missing_extra_and_differing_alerts_are_told_apart() -> None:
    run = Outcome(stored=REFERENCE.stored, alerts={"a1": ("fp1", "open", 4), "a3": ("fp3", "open", 1)})
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["alerts_missing"], counts["alerts_extra"], counts["alerts_differing"]) == (1, 1, 1)
    assert counts["samples"]["alerts_differing"] == [("a1", ("fp1", "open", 3), ("fp1", "open", 4))]


def test_dead_letters_are_explained_only_by_the_bad_records_sent() -> None:
    run = Outcome(stored=REFERENCE.stored, alerts=REFERENCE.alerts, dead_letters=5)
    assert check({"e1"}, REFERENCE, run, bad_records=3)["dead_letters_unexplained"] == 2
    assert check({"e1"}, REFERENCE, run, bad_records=7)["dead_letters_missing"] == 2
