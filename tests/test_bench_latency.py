"""The latency benchmark's probes: each one a different person, so none is a repeat the worker holds back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.latency import ProbeSubjects, _probe_event, idle_probe_start, probe_split
from streams.simulate import build_street


def test_probes_name_a_different_resident_at_a_gate_of_their_own_compound_until_every_one_has_been_probed() -> None:
    street = build_street(seed=11, residents=3_000)
    subjects = ProbeSubjects(street)
    at = datetime(2020, 6, 1, 12, tzinfo=UTC)
    probes = [_probe_event(street, subjects, at + timedelta(seconds=i)) for i in range(len(subjects.eligible))]
    ids = [event.id_number for _, event in probes]
    assert len(set(ids)) == len(ids) == len(subjects.eligible) > 1_000
    assert len({event.event_id for _, event in probes}) == len(probes)
    by_id = {r.id_number: k for k, r in enumerate(street.residents)}
    for checkpoint, event in probes[:200]:
        k = by_id[event.id_number]
        own = {street.checkpoints[c].checkpoint_id for c in street.compound_checkpoints[street.resident_compound[k]]}
        assert checkpoint == event.checkpoint_id and checkpoint in own
    kinds = [(e.temperature_c is not None and e.temperature_c >= 37.3, e.health_code.value) for _, e in probes[:4]]
    assert kinds == [(True, "green"), (False, "red"), (True, "green"), (False, "red")]


def test_a_probes_delay_splits_at_the_moment_the_worker_made_its_revision() -> None:
    sent = datetime(2020, 2, 1, 12, tzinfo=UTC).timestamp()
    first = {"detected_at": "2020-02-01T12:00:00.015000+00:00", "updated_at": None}
    assert probe_split(first, sent, sent + 0.040) == pytest.approx((15.0, 25.0), abs=0.01)
    revised = {"detected_at": "2020-02-01T11:00:00+00:00", "updated_at": "2020-02-01T12:00:00.030000+00:00"}
    assert probe_split(revised, sent, sent + 0.032) == pytest.approx((30.0, 2.0), abs=0.01)


def test_the_idle_probe_goes_on_from_the_loads_last_event_not_from_a_new_day() -> None:
    """A day's jump in event time made every checkpoint silent at once, and that burst rode on two probes."""
    last = datetime(2020, 2, 9, 10, 41, 7, tzinfo=UTC)
    start = idle_probe_start(last)
    assert last < start <= last + timedelta(seconds=5)
    assert idle_probe_start(None).tzinfo is UTC
