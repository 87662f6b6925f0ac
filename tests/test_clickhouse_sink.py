# Queries name the per-test database (a uuid-made identifier) by formatting: S608 does not apply.
"""The ClickHouse sink against an embedded chDB engine.

chDB runs one engine per process, on one path: while a client is open on a
path, opening another path in the same process fails. So the module shares
one engine path and gives every test its own database (uuid-named, as
clickhouse-connect's own integration tests do), which isolates tests as well
as separate paths would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from schemas.actions import AlertAction
from schemas.common import (
    Direction,
    HealthCode,
    Residency,
    RiskColour,
    Severity,
    SubjectKind,
)
from schemas.outputs import Alert, EnrichedEvent, Place
from sinks import (
    ALERT_COLUMNS,
    ALERT_HISTORY_COLUMNS,
    EVENT_COLUMNS,
    ClickHouseSink,
    SinkUnavailable,
    SinkWriteError,
    alert_history_row,
    alert_row,
    ddl_statements,
    event_row,
)
from streams.alertbook import AlertBook
from streams.chaos.disk import SmallDisk
from streams.rules import Finding
from streams.rules.state import MemoryState

REPO_ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2020, 2, 18, 22, 0, 0, 123000, tzinfo=SHANGHAI)
WENFENG = Place(
    checkpoint_id="cp-wenfeng-01",
    compound_id="cpd-wenfeng-3",
    community_code="330822001003",
    large_grid="LG-07",
    small_grid="SG-07-2",
)


@pytest.fixture(scope="module")
def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One chDB engine path for the module (chDB allows one path per process at a time)."""
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def database() -> str:
    """A fresh database name per test, so tests never see each other's rows."""
    return f"gw_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sink(chdb_dsn: str, database: str) -> Iterator[ClickHouseSink]:
    sink = ClickHouseSink(dsn=chdb_dsn, database=database)
    sink.setup()
    yield sink
    sink.close()


@pytest.fixture
def reader(chdb_dsn: str, sink: ClickHouseSink) -> Iterator[Client]:
    """A plain clickhouse-connect client on the same engine, independent of the sink's code."""
    client = clickhouse_connect.get_client(dsn=chdb_dsn)
    yield client
    client.close()


def make_event(event_id: str, *, at: datetime = T0, place: Place = WENFENG, **fields: object) -> EnrichedEvent:
    return EnrichedEvent(
        event_id=event_id, event_type="passage", event_time=at, place=place, **fields
    )


def make_alert(alert_id: str, *, at: datetime = T0, **fields: object) -> Alert:
    values: dict[str, object] = {
        "alert_id": alert_id,
        "rule_id": "origin_mismatch",
        "rule_version": 2,
        "severity": Severity.HIGH,
        "event_time": at,
        "detected_at": at + timedelta(seconds=3),
        "place": WENFENG,
        "event_ids": ("ev-1",),
        "summary_zh": "申报来源与身份证地址不符",
        "summary_en": "Declared origin differs from ID card address",
    }
    values.update(fields)
    return Alert.model_validate(values)


def raw_count(reader: Client, database: str, table: str) -> int:
    """Stored rows without FINAL: what is physically there, before any merge."""
    return int(reader.command(f"SELECT count() FROM {database}.{table}"))


def test_event_round_trips_every_field(sink: ClickHouseSink, reader: Client, database: str) -> None:
    event = make_event(
        "ev-0218-2200-001",
        at=datetime(2020, 2, 18, 14, 0, 0, 123000, tzinfo=UTC),  # stored as 22:00 Shanghai
        subject_kind=SubjectKind.PERSON,
        subject_key="pk_5f1c9a",
        subject_masked="330105********0021",
        resident_known=True,
        resident_verified=True,
        residency=Residency.RENTER,
        home_compound_id="cpd-wenfeng-3",
        home_dwelling_id="dw-3-2-401",
        direction=Direction.IN,
        temperature_c=36.7,
        health_code=HealthCode.YELLOW,
        declared_origin="330103",
        card_division="330105",
        declared_origin_risk=RiskColour.GREEN,
        card_division_risk=RiskColour.YELLOW,
        quarantine_active=True,
        person_count=3,
        linked_subjects=("330105********0047", "330105********0063"),
        misses=("dwelling",),
        refused_fields=("temperature_c: Input should be less than or equal to 45",),
    )

    assert sink.insert_events([event]) == 1

    columns = ", ".join(EVENT_COLUMNS)
    [stored] = reader.query(f"SELECT {columns} FROM {database}.enriched_events").result_rows
    by_name = dict(zip(EVENT_COLUMNS, stored, strict=True))
    assert by_name["event_time"] == event.event_time
    assert by_name["event_time"].hour == 22  # DateTime64(3, 'Asia/Shanghai'), milliseconds kept
    assert by_name["event_time"].microsecond == 123000
    assert by_name["large_grid"] == "LG-07"
    assert by_name["small_grid"] == "SG-07-2"
    assert by_name["checkpoint_id"] == "cp-wenfeng-01"
    assert by_name["linked_subjects"] == ["330105********0047", "330105********0063"]
    assert by_name["misses"] == ["dwelling"]
    expected = dict(zip(EVENT_COLUMNS, event_row(event), strict=True))
    for name in ("linked_subjects", "misses", "id_problems", "refused_fields"):
        expected[name] = list(expected[name])
    assert by_name == expected


def test_event_with_every_optional_field_missing_stores_nulls(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    event = make_event("ev-bare")

    assert sink.insert_events([event]) == 1

    [row] = reader.query(
        "SELECT subject_kind, residency, direction, temperature_c, health_code, declared_origin,"
        f" card_division_risk, linked_subjects, subject_key FROM {database}.enriched_events"
    ).result_rows
    assert row == (None, None, None, None, None, None, None, [], "")


def test_alert_round_trips_every_field(sink: ClickHouseSink, reader: Client, database: str) -> None:
    alert = make_alert(
        "al-origin-0001",
        dwelling_id="dw-3-2-401",
        subject_masked="330105********0021",
        subject_key="pk_5f1c9a",
        event_ids=("ev-1", "ev-2"),
        action="上门核查，落实居家隔离",
        severity=Severity.CRITICAL,
        fingerprint="f" * 32,
        status="acknowledged",
        count=4,
        revision=5,
        change="acknowledged",
        last_event_time=T0 + timedelta(minutes=9),
        updated_at=T0 + timedelta(minutes=20),
        updated_by="op-17",
        acknowledged_by="op-17",
        acknowledged_at=T0 + timedelta(minutes=20),
        note="已派人上门",
    )

    assert sink.insert_alerts([alert]) == 1

    columns = ", ".join(ALERT_COLUMNS)
    [stored] = reader.query(f"SELECT {columns} FROM {database}.alerts").result_rows
    by_name = dict(zip(ALERT_COLUMNS, stored, strict=True))
    assert by_name["severity"] == "critical"
    assert by_name["summary_zh"] == "申报来源与身份证地址不符"
    assert by_name["detected_at"] - by_name["event_time"] == timedelta(seconds=3)
    assert (by_name["status"], by_name["revision"], by_name["resolved_at"]) == ("acknowledged", 5, None)
    expected = dict(zip(ALERT_COLUMNS, alert_row(alert), strict=True))
    expected["event_ids"] = list(expected["event_ids"])
    assert by_name == expected
    [history] = sink.alert_history("al-origin-0001")
    assert history == dict(zip(ALERT_HISTORY_COLUMNS, alert_history_row(alert), strict=True))
    assert (history["at"], history["by"], history["change"]) == (T0 + timedelta(minutes=20), "op-17", "acknowledged")


def test_tables_hold_exactly_the_row_columns_in_order(
    sink: ClickHouseSink, database: str
) -> None:
    for table, columns in (
        ("enriched_events", EVENT_COLUMNS),
        ("alerts", ALERT_COLUMNS),
        ("alert_history", ALERT_HISTORY_COLUMNS),
    ):
        names = sink.query_rows(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}"
            " ORDER BY position",
            {"db": database, "t": table},
        )
        assert tuple(name for (name,) in names) == (*columns, "inserted_at")


def test_tables_are_replacing_merge_trees_keyed_by_grid_checkpoint_time_and_id(
    sink: ClickHouseSink, database: str
) -> None:
    rows = sink.query_rows(
        "SELECT name, engine, sorting_key, partition_key FROM system.tables"
        " WHERE database = {db:String} ORDER BY name",
        {"db": database},
    )
    assert rows == [
        (
            "alert_history",
            "ReplacingMergeTree",
            "large_grid, small_grid, checkpoint_id, event_time, alert_id, revision",
            "toYYYYMM(event_time)",
        ),
        (
            "alerts",
            "ReplacingMergeTree",
            "large_grid, small_grid, checkpoint_id, event_time, alert_id",
            "toYYYYMM(event_time)",
        ),
        (
            "enriched_events",
            "ReplacingMergeTree",
            "large_grid, small_grid, checkpoint_id, event_time, event_id",
            "toYYYYMM(event_time)",
        ),
    ]


def test_applying_ddl_twice_is_harmless_and_keeps_rows(
    chdb_dsn: str, sink: ClickHouseSink, database: str
) -> None:
    assert sink.insert_events([make_event("ev-1")]) == 1
    sink.setup()  # a set-up sink does nothing
    again = ClickHouseSink(dsn=chdb_dsn, database=database)
    again.setup()  # runs every CREATE ... IF NOT EXISTS a second time
    try:
        assert again.count("enriched_events") == 1
        assert again.insert_events([make_event("ev-1"), make_event("ev-2")]) == 1
    finally:
        again.close()
    assert sink.count("enriched_events") == 2


def test_replaying_the_same_batch_writes_no_duplicate_rows(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    batch = [make_event(f"ev-{i}", at=T0 + timedelta(minutes=i)) for i in range(50)]

    assert sink.insert_events(batch) == 50
    assert sink.insert_events(batch) == 0

    # Nothing physically written by the replay: the lookup caught it, not FINAL.
    assert raw_count(reader, database, "enriched_events") == 50
    assert sink.count("enriched_events") == 50


def test_partial_replay_writes_only_the_new_events(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    assert sink.insert_events([make_event("ev-a"), make_event("ev-b")]) == 2

    written = sink.insert_events(
        [make_event("ev-b"), make_event("ev-c", at=T0 + timedelta(days=40)), make_event("ev-a")]
    )

    assert written == 1
    ids = reader.query(f"SELECT event_id FROM {database}.enriched_events ORDER BY event_id")
    assert [row[0] for row in ids.result_rows] == ["ev-a", "ev-b", "ev-c"]


def test_replay_keeps_the_first_stored_version_of_an_event(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    sink.insert_events([make_event("ev-1", health_code=HealthCode.GREEN)])

    assert sink.insert_events([make_event("ev-1", health_code=HealthCode.RED)]) == 0

    colour = reader.command(f"SELECT health_code FROM {database}.enriched_events")
    assert colour == "green"


def test_duplicates_inside_one_batch_collapse_to_the_first(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    batch = [
        make_event("ev-1", temperature_c=36.5),
        make_event("ev-2"),
        make_event("ev-1", temperature_c=38.9),
        make_event("ev-1", temperature_c=37.0),
    ]

    assert sink.insert_events(batch) == 2

    assert raw_count(reader, database, "enriched_events") == 2
    rows = reader.query(
        f"SELECT temperature_c FROM {database}.enriched_events WHERE event_id = 'ev-1'"
    ).result_rows
    assert rows == [(36.5,)]


def test_alerts_table_keeps_one_row_per_alert_id(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    first = make_alert("al-1")
    redetected = make_alert("al-1", detected_at=T0 + timedelta(minutes=5))

    assert sink.insert_alerts([first, first]) == 1
    assert sink.insert_alerts([redetected, make_alert("al-2")]) == 1

    assert raw_count(reader, database, "alerts") == 2
    assert sink.count("alerts") == 2
    rows = reader.query(f"SELECT alert_id, detected_at FROM {database}.alerts ORDER BY alert_id")
    assert rows.result_rows == [("al-1", first.detected_at), ("al-2", first.detected_at)]


@pytest.mark.parametrize(
    ("table", "columns", "row"),
    [
        ("enriched_events", EVENT_COLUMNS, event_row(make_event("ev-racing"))),
        ("alerts", ALERT_COLUMNS, alert_row(make_alert("al-racing"))),
        ("alert_history", ALERT_HISTORY_COLUMNS, alert_history_row(make_alert("al-racing"))),
    ],
)
def test_rows_that_bypass_the_lookup_collapse_on_merge(
    sink: ClickHouseSink,
    reader: Client,
    database: str,
    table: str,
    columns: tuple[str, ...],
    row: tuple[object, ...],
) -> None:
    # Two writers racing past the lookup: both inserts land.
    reader.insert(table, [row], column_names=columns, database=database)
    reader.insert(table, [row], column_names=columns, database=database)
    assert raw_count(reader, database, table) == 2

    assert sink.count(table) == 1  # FINAL already shows one row
    reader.command(f"OPTIMIZE TABLE {database}.{table} FINAL")
    assert raw_count(reader, database, table) == 1


def test_unknown_place_events_still_store_with_empty_grids(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    event = make_event("ev-nowhere", place=Place(), misses=("checkpoint",))

    assert sink.insert_events([event]) == 1

    rows = reader.query(
        "SELECT checkpoint_id, compound_id, community_code, large_grid, small_grid, misses"
        f" FROM {database}.enriched_events WHERE event_id = 'ev-nowhere'"
    ).result_rows
    assert rows == [("", "", "", "", "", ["checkpoint"])]


def test_empty_batches_write_nothing(sink: ClickHouseSink) -> None:
    assert sink.insert_events([]) == 0
    assert sink.insert_alerts([]) == 0
    assert sink.count("enriched_events") == 0


def test_lookup_spans_many_chunks(sink: ClickHouseSink, reader: Client, database: str) -> None:
    batch = [make_event(f"ev-{i:05d}", at=T0 + timedelta(seconds=i)) for i in range(2500)]
    assert sink.insert_events(batch[:1500]) == 1500

    assert sink.insert_events(batch) == 1000

    assert raw_count(reader, database, "enriched_events") == 2500


def test_write_errors_name_codes_but_no_row_values(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    reader.command(f"DROP TABLE {database}.alerts")
    alert = make_alert("al-secret-id", subject_masked="330105********0021")

    with pytest.raises(SinkWriteError) as caught:
        sink.insert_alerts([alert])

    assert caught.value.code == 60  # UNKNOWN_TABLE
    message = str(caught.value)
    assert "UNKNOWN_TABLE" in message
    assert "al-secret-id" not in message
    assert "0021" not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_setup_raises_sink_unavailable_when_no_server_listens() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = ClickHouseSink(dsn=f"http://default:hunter2@127.0.0.1:{port}", database="gridwatch")

    with pytest.raises(SinkUnavailable) as caught:
        sink.setup()

    assert caught.value.retry_after > 0
    assert "hunter2" not in str(caught.value)


def test_setup_raises_sink_unavailable_for_a_second_chdb_path_in_this_process(
    sink: ClickHouseSink, tmp_path: Path
) -> None:
    other = ClickHouseSink(dsn=f"chdb://{tmp_path / 'other'}", database="gridwatch")

    with pytest.raises(SinkUnavailable):
        other.setup()


def test_another_process_cannot_open_the_chdb_path_while_a_sink_holds_it(
    chdb_dsn: str, sink: ClickHouseSink
) -> None:
    script = textwrap.dedent(
        f"""
        from sinks import ClickHouseSink, SinkUnavailable
        try:
            ClickHouseSink(dsn={chdb_dsn!r}, database="gw_other_process").setup()
        except SinkUnavailable:
            print("unavailable")
        else:
            print("opened")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )

    assert result.stdout.strip() == "unavailable"
    assert "Cannot lock file" in result.stderr


def test_database_names_that_are_not_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="identifier"):
        ClickHouseSink(dsn="chdb:///tmp/unused", database="gw; DROP TABLE x")


def test_count_refuses_unknown_tables(sink: ClickHouseSink) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        sink.count("system.users")


def test_methods_before_setup_fail_loudly(chdb_dsn: str) -> None:
    with pytest.raises(RuntimeError, match="setup"):
        ClickHouseSink(dsn=chdb_dsn, database="gw_never").insert_events([make_event("ev-1")])


# Alert revisions: latest state in alerts, every revision in alert_history.


def revisions(alert_id: str = "al-1") -> list[Alert]:
    """Open, acknowledged, resolved: three revisions of one alert, as the alert book publishes them."""
    opened = make_alert(alert_id, fingerprint="fp-1")
    acked = make_alert(alert_id, fingerprint="fp-1", revision=2, change="acknowledged", status="acknowledged",
                       updated_at=T0 + timedelta(minutes=5), updated_by="op-17", acknowledged_by="op-17",
                       acknowledged_at=T0 + timedelta(minutes=5), note="已派人")
    resolved = make_alert(alert_id, fingerprint="fp-1", revision=3, change="resolved", status="resolved",
                          updated_at=T0 + timedelta(minutes=9), updated_by="rule:origin_mismatch",
                          resolved_by="rule:origin_mismatch", resolved_at=T0 + timedelta(minutes=9), note="已核实")
    return [opened, acked, resolved]


def latest(reader: Client, database: str) -> list[tuple[object, ...]]:
    return reader.query(
        f"SELECT alert_id, revision, status, note FROM {database}.alerts FINAL ORDER BY alert_id"
    ).result_rows


def test_alerts_keep_the_latest_revision_and_the_history_every_revision(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    for revision in revisions():
        assert sink.insert_alerts([revision]) == 1

    assert latest(reader, database) == [("al-1", 3, "resolved", "已核实")]
    history = sink.alert_history("al-1")
    assert [(h["revision"], h["status"], h["by"], h["at"]) for h in history] == [
        (1, "open", "rule:origin_mismatch", T0 + timedelta(seconds=3)),
        (2, "acknowledged", "op-17", T0 + timedelta(minutes=5)),
        (3, "resolved", "rule:origin_mismatch", T0 + timedelta(minutes=9)),
    ]
    assert sink.count("alert_history") == 3


def test_replayed_revisions_write_no_row_to_either_table(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    assert sink.insert_alerts(revisions()[:2]) == 2

    assert sink.insert_alerts(revisions()[:2]) == 0
    assert sink.insert_alerts(revisions()) == 1  # only revision 3 is new

    assert raw_count(reader, database, "alert_history") == 3
    assert raw_count(reader, database, "alerts") == 2  # revision 2 (batch 1) and 3 (batch 3)
    assert latest(reader, database) == [("al-1", 3, "resolved", "已核实")]


def test_one_batch_of_revisions_writes_the_highest_to_alerts_and_all_to_history(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    opened, acked, resolved = revisions()

    assert sink.insert_alerts([acked, resolved, opened, acked]) == 3

    assert raw_count(reader, database, "alerts") == 1
    assert raw_count(reader, database, "alert_history") == 3
    assert latest(reader, database) == [("al-1", 3, "resolved", "已核实")]


def test_an_older_revision_arriving_late_does_not_replace_the_latest(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    opened, acked, _ = revisions()

    sink.insert_alerts([acked])
    assert sink.insert_alerts([opened]) == 1

    assert latest(reader, database) == [("al-1", 2, "acknowledged", "已派人")]
    reader.command(f"OPTIMIZE TABLE {database}.alerts FINAL")
    assert raw_count(reader, database, "alerts") == 1
    assert [h["revision"] for h in sink.alert_history("al-1")] == [1, 2]


def test_retry_after_alerts_were_written_but_history_was_not_completes_without_duplicates(
    sink: ClickHouseSink, reader: Client, database: str
) -> None:
    opened = revisions()[0]
    reader.insert("alerts", [alert_row(opened)], column_names=ALERT_COLUMNS, database=database)

    assert sink.insert_alerts([opened]) == 1

    assert sink.count("alerts") == 1
    assert sink.count("alert_history") == 1


def test_alert_book_revisions_round_trip_through_the_sink(sink: ClickHouseSink, reader: Client, database: str) -> None:
    book = AlertBook(MemoryState[Alert](), windows={"fever": timedelta(minutes=10)})
    fever = Finding("fever", 1, Severity.WARNING, "体温异常", "Fever")
    published: list[Alert] = []
    for i in range(3):
        event = make_event(f"ev-{i}", at=T0 + timedelta(minutes=i), subject_key="pk_1")
        published += book.observe(fever, event, detected_at=T0 + timedelta(minutes=i, seconds=1))
    opened = published[0]
    ack = book.apply(AlertAction(action_id="act-1", alert_id=opened.alert_id, fingerprint=opened.fingerprint,
                                 action="acknowledge", by="op-17", at=T0 + timedelta(minutes=4)))
    assert ack is not None
    published.append(ack)

    assert sink.insert_alerts(published) == 4
    assert sink.insert_alerts(published) == 0

    [(alert_id, revision, status, _)] = latest(reader, database)
    assert (alert_id, revision, status) == (opened.alert_id, 4, "acknowledged")
    counts = reader.query(f"SELECT count FROM {database}.alerts FINAL").result_rows
    assert counts == [(3,)]
    assert [h["change"] for h in sink.alert_history(opened.alert_id)] == [
        "opened", "repeated", "repeated", "acknowledged"
    ]


def test_alerts_table_of_020_is_replaced_and_its_rows_kept_as_revision_one(chdb_dsn: str, database: str) -> None:
    reader = clickhouse_connect.get_client(dsn=chdb_dsn)  # not the fixture: that one sets the database up first
    legacy_ddl = dict(ddl_statements(database))
    reader.command(legacy_ddl["001_database.sql"])
    reader.command(legacy_ddl["020_alerts.sql"])
    legacy_columns = ALERT_COLUMNS[: ALERT_COLUMNS.index("action") + 1]
    old = make_alert("al-old", dwelling_id="dw-1")
    reader.insert("alerts", [alert_row(old)[: len(legacy_columns)]], column_names=legacy_columns, database=database)

    for _ in range(2):  # the second setup finds everything done
        upgraded = ClickHouseSink(dsn=chdb_dsn, database=database)
        upgraded.setup()
        try:
            engine = reader.command(
                f"SELECT engine_full FROM system.tables WHERE database = '{database}' AND name = 'alerts'"
            )
            assert str(engine).startswith("ReplacingMergeTree(revision)")
            assert latest(reader, database) == [("al-old", 1, "open", "")]
            [history] = upgraded.alert_history("al-old")
            assert (history["revision"], history["by"], history["dwelling_id"]) == (1, "rule:origin_mismatch", "dw-1")
            assert raw_count(reader, database, "alerts_020") == 1
            assert upgraded.insert_alerts([old]) == 0
        finally:
            upgraded.close()
    upgraded = ClickHouseSink(dsn=chdb_dsn, database=database)
    upgraded.setup()
    try:
        assert upgraded.insert_alerts([make_alert("al-old", revision=2, status="resolved")]) == 1
    finally:
        upgraded.close()
    assert latest(reader, database) == [("al-old", 2, "resolved", "")]
    assert raw_count(reader, database, "alert_history") == 2
    reader.close()


def test_a_fresh_database_keeps_no_table_of_020(sink: ClickHouseSink, database: str) -> None:
    assert sorted(sink.tables()) == ["alert_history", "alerts", "enriched_events"]


def test_a_full_disk_is_reported_as_such_nothing_is_written_and_the_batch_goes_in_once_space_returns(
    small_disk: SmallDisk,
) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from sinks import ClickHouseSink, SinkDiskFull
        from streams.chaos.disk import SmallDisk
        from tests.test_clickhouse_sink import make_event
        disk = SmallDisk(Path({str(small_disk.path)!r}), 64)
        sink = ClickHouseSink(dsn="chdb://" + str(disk.path / "ch"), database="gw_full")
        sink.setup()
        batch = [make_event(f"ev-{{i}}") for i in range(2000)]
        disk.fill()
        try:
            sink.insert_events(batch)
        except SinkDiskFull as exc:
            print("disk full:", exc)
        disk.free()
        print("written", sink.insert_events(batch), "stored", sink.count("enriched_events"))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                            timeout=300, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("disk full:") and "NOT_ENOUGH_SPACE" in lines[0], result.stdout + result.stderr
    assert lines[-1] == "written 2000 stored 2000"


def test_each_table_gets_its_retention_as_a_ttl_from_when_a_row_was_stored(tmp_path: Path) -> None:
    sink = ClickHouseSink(dsn=f"chdb://{tmp_path / 'ttl'}", ttl_days={"enriched_events": 28, "alerts": 180,
                                                                      "alert_history": 0})
    sink.setup()
    try:
        ddl = {name: str(sink.query_rows(f"SHOW CREATE TABLE gridwatch.{name}")[0][0])
               for name in ("enriched_events", "alerts", "alert_history")}
    finally:
        sink.close()
    assert "TTL toDateTime(inserted_at) + toIntervalSecond(2419200)" in ddl["enriched_events"]
    assert "toIntervalSecond(15552000)" in ddl["alerts"]
    assert "TTL" not in ddl["alert_history"].split("SETTINGS")[0].split("ORDER BY")[1]
    with pytest.raises(ValueError, match="no such tables"):
        ClickHouseSink(dsn="chdb:///x", ttl_days={"residents": 1})
