"""Store enriched events and alerts in ClickHouse, idempotently by id (alerts: by id and revision).

The sink is synchronous on purpose: a Faust agent batches records itself and
calls these methods through ``asyncio.to_thread``, so no event loop is touched
here (STYLE item 10). One worker thread at a time is the supported use; a lock
serialises calls anyway, because a clickhouse-connect client is not meant to
run two queries at once.

A replay after a crash writes no duplicate row, by two layers:

1. Before each insert the sink drops repeated ids inside the batch (first one
   wins) and asks the table which of the remaining ids are already stored,
   restricted to the batch's event-time range so the lookup prunes partitions
   and primary-index ranges, and uses the bloom filter on the id. Those rows
   are skipped: a replay writes nothing, and the first stored version of an
   event stays as it is.
2. The tables are ReplacingMergeTree with the id closing the sorting key, so
   rows that slip past the lookup (two writers racing) collapse on merge and
   are never counted twice by a ``FINAL`` read.

Alerts are published again on every change with a higher ``revision``. One
``insert_alerts`` call writes the latest revision of each alert to ``alerts``
(ReplacingMergeTree on ``revision``: the highest wins, in any insert order)
and every revision to ``alert_history``. The stored-key lookup is on
``alert_history`` by ``(alert_id, revision)``, and ``alerts`` is written
first: if the history insert fails after it, the retry writes the same
revision to ``alerts`` again, which collapses, and then the history.

The same code drives an embedded chDB engine (``chdb:///abs/path``) and a real
server (``http(s)://user:password@host:port``); only the connection step
differs. Table names are always qualified with the database, so the database
does not have to exist when the client connects.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, Error, OperationalError
from clickhouse_connect.driver.insert import InsertContext

from schemas.outputs import Alert, EnrichedEvent
from sinks.exceptions import SinkDiskFull, SinkError, SinkUnavailable, SinkWriteError
from sinks.rows import (
    ALERT_COLUMNS,
    ALERT_HISTORY_COLUMNS,
    EVENT_COLUMNS,
    Row,
    alert_history_row,
    alert_row,
    event_row,
)

__all__ = ["ClickHouseSink", "ddl_statements"]

logger = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

RETRY_AFTER_SECONDS = 5.0
"""What ``SinkUnavailable.retry_after`` says when the server or engine cannot be reached."""

LOOKUP_CHUNK = 1000
"""Ids per existence lookup; keeps query parameters well below HTTP URL limits."""

_ItemT = TypeVar("_ItemT", bound=EnrichedEvent)


@dataclass(frozen=True, slots=True)
class _Table:
    """What the sink needs to know about one of its tables."""

    name: str
    key_columns: tuple[str, ...]
    """What makes a row unique; the first one is the id looked up with ``IN``."""
    columns: tuple[str, ...]


EVENTS = _Table("enriched_events", ("event_id",), EVENT_COLUMNS)
ALERTS = _Table("alerts", ("alert_id",), ALERT_COLUMNS)
ALERT_HISTORY = _Table("alert_history", ("alert_id", "revision"), ALERT_HISTORY_COLUMNS)
_TABLES = {table.name: table for table in (EVENTS, ALERTS, ALERT_HISTORY)}

_ALERTS_DDL = "022_alerts_by_revision.sql"
_LEGACY_ALERTS = "alerts_020"
_LEGACY_ALERT_COLUMNS = ALERT_COLUMNS[: ALERT_COLUMNS.index("action") + 1]
"""The columns of 020_alerts.sql, which the alerts table of 022 starts with."""


def ddl_statements(database: str) -> list[tuple[str, str]]:
    """The DDL files of ``sinks/ddl`` as ``(file name, statement)``, in file-name order.

    Each file holds one idempotent statement (``IF NOT EXISTS``) with a
    ``{database}`` placeholder; ``str.replace`` rather than ``str.format`` so
    that a brace in a future statement cannot break the substitution.
    """
    _check_identifier(database)
    ddl_dir = resources.files(__package__).joinpath("ddl")
    files = sorted(
        (entry for entry in ddl_dir.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [
        (entry.name, entry.read_text(encoding="utf-8").replace("{database}", database))
        for entry in files
    ]


def _check_identifier(name: str) -> None:
    """Refuse names that are not plain identifiers: they are spliced into SQL."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain ClickHouse identifier: {name!r}")


def _epoch_millis(moment: datetime) -> int:
    """Milliseconds since the epoch, by integer arithmetic (no float rounding)."""
    return (moment - _EPOCH) // _MILLISECOND


NOT_ENOUGH_SPACE = 243
"""ClickHouse's error code when it cannot reserve disk space for a part (chDB on a full tmpfs raised it)."""


def _error_label(exc: BaseException) -> str:
    """Code and symbol of a driver error, without its free text (which can quote values)."""
    if isinstance(exc, Error) and (exc.code is not None or exc.name is not None):
        return f"{type(exc).__name__} Code: {exc.code} ({exc.name})"
    return type(exc).__name__


class ClickHouseSink:
    """Writes ``EnrichedEvent`` rows to ``enriched_events`` and ``Alert`` rows to ``alerts``.

    Construct, then call ``setup()`` before anything else and ``close()`` at
    the end. Nothing connects in the constructor (STYLE item 8), so building a
    sink in an app factory costs nothing and cannot fail on the network.
    """

    def __init__(self, *, dsn: str, database: str = "gridwatch", refuse_writes_while: Path | None = None,
                 ttl_days: Mapping[str, float] | None = None) -> None:
        """Remember where to connect.

        :param dsn: ``chdb:///abs/path`` for an embedded chDB engine, or
            ``http(s)://user:password@host:port`` for a ClickHouse server. Never
            logged, since it may carry a password.
        :param database: Database holding the tables; created by ``setup()``.
            Must be a plain identifier (it is spliced into DDL and queries).
        :param refuse_writes_while: A fault drill's switch: while this file
            exists, every insert raises ``SinkUnavailable`` as an outage would.
        :param ttl_days: Table name -> days a row is kept after it was stored
            (0: for good); applied by ``setup()`` as the table's TTL. None
            leaves the tables' TTLs as they are.
        """
        _check_identifier(database)
        self._dsn = dsn
        self._database = database
        self._client: Client | None = None
        self._contexts: dict[str, InsertContext] = {}
        self._lock = threading.Lock()
        self._refuse_while = refuse_writes_while
        self._ttl_days = dict(ttl_days or {})
        unknown = set(self._ttl_days) - set(_TABLES)
        if unknown:
            raise ValueError(f"no such tables for a TTL: {sorted(unknown)}")

    @property
    def database(self) -> str:
        """The database the tables live in."""
        return self._database

    def setup(self) -> None:
        """Connect and apply the DDL; calling it again on a set-up sink does nothing.

        :raises SinkUnavailable: the server or chDB engine cannot be reached
            (for chDB also: another process holds the path, or this process
            has an engine open on a different path).
        :raises SinkWriteError: the server refused the DDL.
        """
        with self._lock:
            if self._client is not None:
                return
            client = self._connect()
            try:
                statements = ddl_statements(self._database)
                for name, statement in statements:
                    try:
                        client.command(statement)
                    except ClickHouseError as exc:
                        raise self._translate(exc, f"applying {name}") from None
                try:
                    self._retire_legacy_alerts(client, dict(statements)[_ALERTS_DDL])
                except ClickHouseError as exc:
                    raise self._translate(exc, "replacing the alerts table of 020_alerts.sql") from None
                for table_name, days in self._ttl_days.items():
                    # from when a row was stored, so a replayed backlog is kept as long as live data; not
                    # materialised at once (old parts go at their next merge), so a start never rewrites a table
                    ttl = "REMOVE TTL" if days == 0 else (
                        f"MODIFY TTL toDateTime(inserted_at) + toIntervalSecond({int(days * 86_400)})")
                    try:
                        client.command(f"ALTER TABLE {self._database}.{table_name} {ttl}",
                                       settings={"materialize_ttl_after_modify": 0})
                    except ClickHouseError as exc:
                        if days == 0 and "TTL" in str(exc):
                            continue  # REMOVE TTL on a table without one
                        raise self._translate(exc, f"setting the TTL of {table_name}") from None
                contexts = {}
                for table in _TABLES.values():
                    try:
                        # Built once: otherwise every insert asks the server for column types.
                        contexts[table.name] = client.create_insert_context(
                            table=table.name, database=self._database, column_names=table.columns
                        )
                    except ClickHouseError as exc:
                        raise self._translate(exc, f"preparing inserts into {table.name}") from None
            except BaseException:
                client.close()
                raise
            self._client = client
            self._contexts = contexts
            logger.info("ClickHouse sink ready (database %s)", self._database)

    def insert_events(self, events: Sequence[EnrichedEvent]) -> int:
        """Store events whose ``event_id`` is not stored yet; return how many rows were written.

        :raises SinkUnavailable: nothing was written; retry the batch later.
        :raises SinkWriteError: the batch was rejected; retrying will not help.
        """
        return self._insert(EVENTS, events, _event_key, event_row)

    def insert_alerts(self, alerts: Sequence[Alert]) -> int:
        """Store alert revisions not stored yet; return how many new revisions were written.

        Each new revision is one ``alert_history`` row; ``alerts`` gets the
        highest new revision of each alert in the batch. A replayed revision
        writes nothing to either table. Within the batch the first copy of an
        ``(alert_id, revision)`` wins.

        :raises SinkUnavailable: nothing was written; retry the batch later.
        :raises SinkWriteError: the batch was rejected; retrying will not help.
        """
        if not alerts:
            return 0
        first_by_key: dict[tuple[Any, ...], Alert] = {}
        for alert in alerts:
            first_by_key.setdefault((alert.alert_id, alert.revision), alert)
        with self._lock:
            client = self._require_client()
            stored = self._stored_keys(
                client,
                ALERT_HISTORY,
                list(dict.fromkeys(alert.alert_id for alert in first_by_key.values())),
                [alert.event_time for alert in first_by_key.values()],
            )
            new = [alert for key, alert in first_by_key.items() if key not in stored]
            if not new:
                return 0
            latest: dict[str, Alert] = {}
            for alert in new:
                kept = latest.get(alert.alert_id)
                if kept is None or alert.revision > kept.revision:
                    latest[alert.alert_id] = alert
            self._write(client, ALERTS, [alert_row(alert) for alert in latest.values()])
            self._write(client, ALERT_HISTORY, [alert_history_row(alert) for alert in new])
            return len(new)

    def alert_history(self, alert_id: str) -> list[dict[str, Any]]:
        """Every stored revision of one alert, oldest first, as ``ALERT_HISTORY_COLUMNS`` dicts."""
        columns = ", ".join(ALERT_HISTORY.columns)
        sql = (
            f"SELECT {columns} FROM {self._database}.{ALERT_HISTORY.name} FINAL "  # noqa: S608 - checked identifiers
            "WHERE alert_id = {alert_id:String} ORDER BY revision"
        )
        rows = self.query_rows(sql, {"alert_id": alert_id})
        return [dict(zip(ALERT_HISTORY.columns, row, strict=True)) for row in rows]

    def count(self, table: str) -> int:
        """Rows of ``table`` as a merge would leave them (read with ``FINAL``).

        :param table: ``"enriched_events"``, ``"alerts"`` or ``"alert_history"``.
        """
        if table not in _TABLES:
            raise ValueError(f"unknown table {table!r}; expected one of {sorted(_TABLES)}")
        sql = f"SELECT count() FROM {self._database}.{table} FINAL"  # noqa: S608 - checked identifiers
        rows = self.query_rows(sql)
        return int(rows[0][0])

    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query and return its rows as tuples.

        Use server-side binding for values (``{name:Type}`` in ``sql`` with
        ``parameters``), never string formatting. Tables are not implied: name
        them with the database, e.g. ``gridwatch.alerts``.
        """
        with self._lock:
            client = self._require_client()
            try:
                result = client.query(sql, parameters=parameters)
            except ClickHouseError as exc:
                raise self._translate(exc, "query") from None
            return [tuple(row) for row in result.result_rows]

    def close(self) -> None:
        """Release the client (for chDB: the engine, once no other client holds it). Idempotent."""
        with self._lock:
            client, self._client = self._client, None
            self._contexts = {}
            if client is not None:
                client.close()

    # internals

    def _connect(self) -> Client:
        """Open a client for the DSN; every failure here means "not reachable now"."""
        kwargs: dict[str, Any] = {}
        if not self._dsn.startswith("chdb:"):
            # The sink issues one query at a time and needs no session state; a
            # session id would make a retried query fail with "session is locked".
            kwargs["autogenerate_session_id"] = False
        try:
            return clickhouse_connect.get_client(dsn=self._dsn, **kwargs)
        except ClickHouseError as exc:
            # Never the whole DSN: it may carry a password.
            location = urlparse(self._dsn)
            if location.hostname:
                where = f"{location.scheme}://{location.hostname}:{location.port or ''}"
            else:
                where = f"{location.scheme}://{location.path}"
            raise SinkUnavailable(
                f"cannot connect to ClickHouse at {where}: {_error_label(exc)}",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None

    def _require_client(self) -> Client:
        if self._client is None:
            raise RuntimeError("ClickHouseSink.setup() was not called, or close() was")
        return self._client

    def _translate(self, exc: BaseException, what: str) -> SinkError:
        """Map a driver error to the sink's errors, keeping only codes, never values."""
        label = _error_label(exc)
        if isinstance(exc, OperationalError):
            return SinkUnavailable(
                f"{what} failed, ClickHouse unavailable: {label}", retry_after=RETRY_AFTER_SECONDS
            )
        code = exc.code if isinstance(exc, Error) else None
        if code == NOT_ENOUGH_SPACE:
            return SinkDiskFull(f"{what} failed, no space left on ClickHouse's disk: {label}",
                                retry_after=RETRY_AFTER_SECONDS)
        return SinkWriteError(f"{what} failed: {label}", code=code)

    def _insert(
        self,
        table: _Table,
        items: Sequence[_ItemT],
        key: Callable[[_ItemT], tuple[str, datetime]],
        to_row: Callable[[_ItemT], Row],
    ) -> int:
        """Deduplicate, skip stored ids, insert the rest; return rows written."""
        if not items:
            return 0
        if self._refuse_while is not None and self._refuse_while.exists():
            raise SinkUnavailable(f"insert into {table.name} refused: fault drill switch is on", retry_after=0.5)
        first_by_id: dict[str, _ItemT] = {}
        for item in items:
            first_by_id.setdefault(key(item)[0], item)
        with self._lock:
            client = self._require_client()
            times = [key(item)[1] for item in first_by_id.values()]
            stored = self._stored_keys(client, table, list(first_by_id), times)
            rows = [to_row(item) for item_id, item in first_by_id.items() if (item_id,) not in stored]
            self._write(client, table, rows)
            return len(rows)

    def _write(self, client: Client, table: _Table, rows: list[Row]) -> None:
        """One insert of ``rows`` (in ``table.columns`` order) through the prepared context."""
        if not rows:
            return
        context = self._contexts[table.name]
        what = f"insert of {len(rows)} rows into {table.name}"
        try:
            context.data = rows
            client.insert(context=context)
        except ClickHouseError as exc:
            raise self._translate(exc, what) from None
        except (ValueError, TypeError, OverflowError, struct.error) as exc:
            # Raised while encoding a value the column type cannot hold.
            raise SinkWriteError(f"{what} failed: cannot encode ({type(exc).__name__})") from None
        finally:
            context.data = None

    def _stored_keys(
        self, client: Client, table: _Table, ids: list[str], times: list[datetime]
    ) -> set[tuple[Any, ...]]:
        """Which keys (``table.key_columns``) of these ids the table already holds, looked up in the batch's time range.

        An id is stored with its own event_time, which never changes for that
        id (for alerts: the opening event's), so bounding the lookup by the
        batch's min and max event_time loses nothing and lets ClickHouse skip
        other partitions and key ranges. One millisecond of slack on each side
        absorbs truncation to DateTime64(3). No ``FINAL``: any stored copy
        means "already written".
        """
        low = _epoch_millis(min(times)) - 1
        high = _epoch_millis(max(times)) + 1
        id_column = table.key_columns[0]
        sql = (
            f"SELECT DISTINCT {', '.join(table.key_columns)} FROM {self._database}.{table.name} "  # noqa: S608
            "WHERE event_time >= fromUnixTimestamp64Milli({low:Int64}) "
            "AND event_time <= fromUnixTimestamp64Milli({high:Int64}) "
            f"AND {id_column} IN {{ids:Array(String)}}"
        )
        stored: set[tuple[Any, ...]] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            try:
                result = client.query(sql, parameters={"low": low, "high": high, "ids": chunk})
            except ClickHouseError as exc:
                raise self._translate(exc, f"lookup of stored ids in {table.name}") from None
            stored.update(tuple(row) for row in result.result_rows)
        return stored

    def _retire_legacy_alerts(self, client: Client, alerts_ddl: str) -> None:
        """Replace the alerts table of 020_alerts.sql (no revisions) by the one of 022, keeping its rows.

        A ClickHouse engine cannot be altered, and 020's ``CREATE ... IF NOT
        EXISTS`` runs before 022's on every setup, so a fresh database gets
        020's table too. That one is empty and simply dropped; a table with
        rows is renamed to ``alerts_020`` and its rows are copied in as open
        revision-1 alerts without a fingerprint. The copy skips alerts already
        in the history, so a setup interrupted half-way finishes the copy the
        next time; ``alerts_020`` stays for the operator to drop.
        """
        db = self._database
        engine = client.query(
            "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'alerts'",
            parameters={"db": db},
        ).result_rows
        if engine and not str(engine[0][0]).startswith("ReplacingMergeTree(revision)"):
            rows = client.query(f"SELECT count() FROM {db}.alerts").result_rows  # noqa: S608 - checked identifier
            if int(rows[0][0]) == 0:
                client.command(f"DROP TABLE {db}.alerts")
            elif self._table_exists(client, _LEGACY_ALERTS):
                raise SinkWriteError(f"both {db}.alerts (of 020_alerts.sql, with rows) and {db}.{_LEGACY_ALERTS} exist;"
                                     " merge them by hand")
            else:
                client.command(f"RENAME TABLE {db}.alerts TO {db}.{_LEGACY_ALERTS}")
                logger.warning("alerts table of 020_alerts.sql kept as %s.%s", db, _LEGACY_ALERTS)
            client.command(alerts_ddl)
        if not self._table_exists(client, _LEGACY_ALERTS):
            return
        legacy = ", ".join(_LEGACY_ALERT_COLUMNS)
        history = (
            "alert_id, revision, change, status, severity, count, at, by, rule_id, rule_version, event_time,"
            " last_event_time, checkpoint_id, compound_id, community_code, large_grid, small_grid, dwelling_id,"
            " subject_key"
        )
        not_copied = f"alert_id NOT IN (SELECT alert_id FROM {db}.alert_history)"  # noqa: S608
        client.command(
            f"INSERT INTO {db}.alerts ({legacy}, revision, change, status, count, last_event_time, updated_at,"  # noqa: S608
            f" updated_by) SELECT {legacy}, 1, 'opened', 'open', 1, event_time, detected_at, concat('rule:', rule_id)"
            f" FROM {db}.{_LEGACY_ALERTS} WHERE {not_copied}"
        )
        client.command(
            f"INSERT INTO {db}.alert_history ({history}) SELECT alert_id, 1, 'opened', 'open', severity, 1,"  # noqa: S608
            " detected_at, concat('rule:', rule_id), rule_id, rule_version, event_time, event_time, checkpoint_id,"
            " compound_id, community_code, large_grid, small_grid, dwelling_id, subject_key"
            f" FROM {db}.{_LEGACY_ALERTS} WHERE {not_copied}"
        )

    def tables(self) -> list[str]:
        """The names of the database's tables, sorted."""
        rows = self.query_rows("SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
                               {"db": self._database})
        return [str(name) for (name,) in rows]

    def _table_exists(self, client: Client, name: str) -> bool:
        rows = client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {name:String}",
            parameters={"db": self._database, "name": name},
        ).result_rows
        return int(rows[0][0]) > 0


def _event_key(event: EnrichedEvent) -> tuple[str, datetime]:
    return event.event_id, event.event_time


