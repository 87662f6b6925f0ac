"""A rotation of the person-key secret on a real broker and worker: new data under the new secret, nothing reopened.

Before the rotation a resident shows a red code at the Dingyang gate (an alert
opens under their key of secret k1) and a second resident passes the Wenfeng
gate (their last fix is rule state under k1). The worker stops, the ring is
rotated (k2 current, k1 retired and still linked), the worker starts again.
After it:

- the registers still know both (the store was rebuilt under k2), and every
  new enriched event names its person by a k2 key;
- the first resident's second red code two minutes later is a repeat of the
  alert opened before the rotation (same alert, count 2), not a second alert;
- the second resident at a gate 15 km away ten minutes later is impossible
  travel: their state of before the rotation was found under the old key.

Twice: folded in the events agent, and through ``rule-input`` and
``findings`` (the path a partition owned by another worker takes, where the
finding is offered to the old fingerprint's partition first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import EventBatch
from streams.keyring import new_ring, read_keyring, rotate, write_keyring
from streams.privacy import secret_of
from streams.process import WorkerProcess
from streams.scrape import wait_for_metric
from streams.settings import PrivacySettings, Settings, StreamSettings
from tests.bus import Bus
from tests.factories import (
    COMPOUNDS,
    DINGYANG_CP,
    FAR_COMPOUND,
    FAR_CP,
    RESIDENT_ID,
    RESIDENTS,
    RETURNEE_ID,
    RISK_AREAS,
    WENFENG_CP,
    at,
    passage,
)

pytestmark = pytest.mark.integration
WAIT = 120.0


def _upload(batch_id: str, *events: Any) -> EventBatch:
    return EventBatch(batch_id=batch_id, source="term-rotation", events=events)


def _enriched(bus: Bus, event_ids: set[str]) -> dict[str, dict[str, Any]]:
    records = bus.consume("enriched-events", timeout=WAIT, until=lambda rs: event_ids <= {
        e["event_id"] for r in rs for e in r["events"]})
    return {e["event_id"]: e for r in records for e in r["events"] if e["event_id"] in event_ids}


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "through-topics"])
def test_a_rotation_keys_new_data_under_the_new_secret_and_reopens_nothing(
        in_process: bool, pipeline_settings: Settings, worker_factory: Callable[[Settings], WorkerProcess],
        tmp_path: Path) -> None:
    ring = tmp_path / "keys" / "person-keys.json"
    write_keyring(ring, new_ring(datetime.now(UTC)))
    settings = pipeline_settings.model_copy(update={
        "privacy": PrivacySettings(person_keyring_file=ring),
        "stream": StreamSettings(in_process=in_process)})
    bus = Bus(settings)
    worker = worker_factory(settings)
    worker.start()
    bus.publish_master(residents=RESIDENTS, checkpoints=(DINGYANG_CP, WENFENG_CP, FAR_CP),
                       compounds=(*COMPOUNDS, FAR_COMPOUND), risk_areas=RISK_AREAS)
    wait_for_metric(settings.metrics.port, "gridwatch_master_updates_total", len(RESIDENTS), table="residents",
                    op="upsert", timeout=WAIT)
    bus.publish_batch(_upload("rot-1", passage("rot-red-1", event_time=at(21, 30), health_code="red"),
                              passage("rot-tr-1", event_time=at(21, 35), checkpoint_id=WENFENG_CP.checkpoint_id,
                                      id_number=RETURNEE_ID)))
    before = bus.consume("alerts", timeout=WAIT, until=lambda rs: any(a["rule_id"] == "health_code" for a in rs))
    [opened] = [a for a in before if a["rule_id"] == "health_code"]
    assert secret_of(opened["subject_key"]) == "k1"
    assert {e["subject_key"] for e in _enriched(bus, {"rot-red-1", "rot-tr-1"}).values()} == {
        bus.keys.key(RESIDENT_ID), bus.keys.key(RETURNEE_ID)}
    worker.stop()

    write_keyring(ring, rotate(read_keyring(ring), datetime.now(UTC)))
    worker.start()
    bus.publish_batch(_upload("rot-2", passage("rot-red-2", event_time=at(21, 32), health_code="red"),
                              passage("rot-tr-2", event_time=at(21, 45), checkpoint_id=FAR_CP.checkpoint_id,
                                      id_number=RETURNEE_ID, direction="out")))
    after = _enriched(bus, {"rot-red-2", "rot-tr-2"})
    assert {secret_of(e["subject_key"]) for e in after.values()} == {"k2"}  # new data, new secret
    assert after["rot-red-2"]["resident_known"] and after["rot-tr-2"]["resident_known"]  # the store was rebuilt
    revisions = bus.consume("alerts", timeout=WAIT, until=lambda rs: any(
        a["rule_id"] == "impossible_travel" for a in rs) and any(
        a["rule_id"] == "health_code" and a["count"] == 2 for a in rs))
    codes = [a for a in revisions if a["rule_id"] == "health_code"]
    assert {a["alert_id"] for a in codes} == {opened["alert_id"]}  # the alert of before the rotation went on
    assert [(a["revision"], a["count"], a["change"]) for a in codes] == [(1, 1, "opened"), (2, 2, "repeated")]
    assert codes[-1]["subject_key"] == opened["subject_key"] and codes[-1]["event_ids"][-1] == "rot-red-2"
    [travel] = [a for a in revisions if a["rule_id"] == "impossible_travel"]  # the fix of before was found
    assert secret_of(travel["subject_key"]) == "k2" and "rot-tr-1" in travel["event_ids"]
    bus.close()
