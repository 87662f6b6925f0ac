"""The fault campaign's checker: every kind of broken promise is counted, a kept one counts 0."""

from __future__ import annotations

from streams.chaos.checker import Outcome, check

REFERENCE = Outcome(stored={"e1": 1, "e2": 1, "e3": 1},
                    alerts={"a1": ("fp1", "open", 3, "fever"), "a2": ("fp2", "resolved", 1, "fever")})


def test_a_run_that_matches_the_reference_counts_nothing() -> None:
    counts = check({"e1", "e2", "e3"}, REFERENCE, REFERENCE)
    assert {k: v for k, v in counts.items() if k not in ("samples", "events", "alerts_expected")} == {
        "lost": 0, "duplicated": 0, "alerts_missing": 0, "alerts_extra": 0, "alerts_differing": 0,
        "clock_alerts_differing": 0, "dead_letters_unexplained": 0, "dead_letters_missing": 0}
    assert (counts["events"], counts["alerts_expected"]) == (3, 2)


def test_lost_and_doubled_events_are_counted_against_what_the_broker_acknowledged() -> None:
    run = Outcome(stored={"e1": 3, "e3": 1, "e-unacked": 1}, alerts=REFERENCE.alerts)
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["lost"], counts["duplicated"]) == (1, 2)
    assert counts["samples"] == {"lost": ["e2"], "duplicated": ["e1"], "alerts_missing": [], "alerts_extra": [],
                                 "alerts_differing": []}


def test_missing_extra_and_differing_alerts_are_told_apart_by_fingerprint() -> None:
    run = Outcome(stored=REFERENCE.stored, alerts={"a1": ("fp1", "open", 4, "fever"),
                                                   "a3": ("fp3", "open", 1, "fever")})
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["alerts_missing"], counts["alerts_extra"], counts["alerts_differing"]) == (1, 1, 1)
    samples = counts["samples"]
    assert samples["alerts_differing"] == [("fp1", "fever", (("open",), 3), (("open",), 4))]  # type: ignore[index]
    assert (samples["alerts_missing"], samples["alerts_extra"]) == (  # type: ignore[index]
        [("fp2", "fever")], [("fp3", "fever")])


def test_the_same_condition_opened_by_another_event_is_the_same_alert() -> None:
    run = Outcome(stored=REFERENCE.stored, alerts={"a1-by-e2": ("fp1", "open", 3, "fever"),
                                                   "a2": ("fp2", "resolved", 1, "fever")})
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["alerts_missing"], counts["alerts_extra"], counts["alerts_differing"]) == (0, 0, 0)


def test_dead_letters_are_explained_only_by_what_the_contract_says_the_bad_records_produce() -> None:
    run = Outcome(stored=REFERENCE.stored, alerts=REFERENCE.alerts, dead_letters=5)
    assert check({"e1"}, REFERENCE, run, dead_letters_expected=3)["dead_letters_unexplained"] == 2
    assert check({"e1"}, REFERENCE, run, dead_letters_expected=7)["dead_letters_missing"] == 2


def test_alerts_of_clock_driven_rules_are_counted_apart() -> None:
    silent = {"s1": ("fp-gate", "open", 1, "silent_checkpoint")}
    run = Outcome(stored=REFERENCE.stored, alerts=dict(REFERENCE.alerts) | silent)
    counts = check({"e1", "e2", "e3"}, REFERENCE, run)
    assert (counts["alerts_extra"], counts["clock_alerts_differing"]) == (0, 1)
