"""The leak scan: after an end-to-end run, no raw ID number, name or phone outside the registers.

The run feeds the pipeline its registers, a checkpoint's batch that raises
alerts, and bad records built to leak: a truncated JSON carrying an ID
number and a name, and a well-formed batch whose event carries a name and a
phone in fields the contract does not know (a validation message that
quoted its input would put them in the dead letter's reason). Then every
topic of the run (Faust's changelogs and internal topics included, and
Kafka's ``__consumer_offsets``), every ClickHouse table, the worker's log
and its ``/metrics`` are searched for each person's ID number, name and
phone, as bytes and as JSON escapes.

Two places may hold them by design, and the scan proves it can see there:
the register topics (the master data: ID numbers, names, phones) and
``events``, the terminals' own uploads (ID numbers as scanned, never a name
or phone).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import pytest

from sinks import ClickHouseSink
from streams.process import WorkerProcess
from streams.scrape import metrics_text, wait_for_metric
from streams.settings import Settings
from tests.bus import Bus, every_record
from tests.factories import DINGYANG_CP, OUTSIDER_ID, RESIDENTS
from tests.test_pipeline import DINGYANG_BATCH, start_with_master

pytestmark = pytest.mark.integration

REGISTER_TOPICS = ("residents", "visitors", "person-records", "quarantine-orders")


def needles() -> dict[str, list[bytes]]:
    """Each personal value, named by kind and person, with every encoding a record or a line may carry it in."""
    found: dict[str, list[bytes]] = {}

    def add(label: str, value: str) -> None:
        found[label] = sorted({value.encode(), value.lower().encode(), json.dumps(value).strip('"').encode()})

    for i, r in enumerate(RESIDENTS):
        add(f"id_number of resident {i}", r.id_number)
        add(f"name of resident {i}", r.name)
        if r.phone:
            add(f"phone of resident {i}", r.phone)
    add("id_number of the outsider", OUTSIDER_ID)
    return found


def hits(blobs: Iterable[bytes], wanted: dict[str, list[bytes]]) -> set[str]:
    """The needles' labels found in any of the blobs."""
    out: set[str] = set()
    for blob in blobs:
        out |= {label for label, forms in wanted.items() if any(f in blob for f in forms)}
    return out


def every_table(settings: Settings) -> dict[str, list[bytes]]:
    """Every row of every table in the run's ClickHouse database, as text."""
    store = ClickHouseSink(dsn=settings.clickhouse_dsn, database=settings.clickhouse.database)
    store.setup()
    try:
        return {t: [repr(row).encode() for row in store.query_rows(f"SELECT * FROM `{store.database}`.`{t}`")]
                for t in store.tables()}
    finally:
        store.close()


def test_no_raw_id_number_name_or_phone_leaves_the_registers_and_the_uploads(
        pipeline_settings: Settings, worker_factory: Callable[[Settings], WorkerProcess]) -> None:
    s = pipeline_settings
    bus = Bus(s)
    worker = worker_factory(s)
    start_with_master(bus, worker)
    bus.publish_batch(DINGYANG_BATCH)
    resident = RESIDENTS[0]
    bus.send("events", b"cp", f'{{"batch_id": "b-cut", "id_number": "{resident.id_number}", "name": '
                              f'"{resident.name}", "events": ['.encode())
    named = DINGYANG_BATCH.model_dump(mode="json") | {"batch_id": "b-named"}
    named["events"] = [named["events"][-1] | {"event_id": "e-named", "name": resident.name,
                                              "phone": resident.phone}]
    bus.send("events", DINGYANG_CP.checkpoint_id.encode(), json.dumps(named, ensure_ascii=False).encode())
    bus.producer.flush()
    port, events = s.metrics.port, s.kafka.topic("events")
    wait_for_metric(port, "gridwatch_sink_rows_total", len(DINGYANG_BATCH.events), table="enriched_events",
                    timeout=120)
    wait_for_metric(port, "gridwatch_sink_rows_total", 4, table="alerts", timeout=120)
    wait_for_metric(port, "gridwatch_dead_letters_total", 1, timeout=60, reason="invalid_json", topic=events)
    wait_for_metric(port, "gridwatch_dead_letters_total", 1, timeout=60, reason="schema_violation", topic=events)
    metrics = metrics_text(port).encode()
    bus.close()
    worker.stop()
    wanted = needles()
    ids = {label for label in wanted if label.startswith("id_number")}

    topics = {name: [part for record in records for part in record if part]
              for name, records in every_record(s, also=("__consumer_offsets",)).items()}
    registers = [s.kafka.topic(t) for t in REGISTER_TOPICS if s.kafka.topic(t) in topics]
    assert hits(topics[s.kafka.topic("residents")], wanted) == {
        label for label in wanted if label != "id_number of the outsider"}  # the scan sees what is there
    assert hits(topics[events], wanted) >= {"id_number of resident 0", "id_number of the outsider"}
    assert hits(topics[events], wanted) - ids == {"name of resident 0", "phone of resident 0"}  # the bad ones
    dead = topics[s.kafka.topic("dead-letters")]
    assert len(dead) >= 2
    leaks = {name: hits(blobs, wanted) for name, blobs in topics.items() if name not in (*registers, events)}
    tables = every_table(s)
    assert tables["enriched_events"] and tables["alerts"]  # the scan reads the rows the run stored
    leaks |= {f"clickhouse {t}": hits(rows, wanted) for t, rows in tables.items()}
    leaks["worker log"] = hits([worker.log_path.read_bytes()], wanted)
    leaks["/metrics"] = hits([metrics], wanted)
    assert {where: found for where, found in leaks.items() if found} == {}
    assert len(leaks) > 15  # topics of every kind (outputs, changelogs, internal), tables, log, metrics
