"""Store enriched events and alerts in ClickHouse, idempotently by id.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, Error, OperationalError
from clickhouse_connect.driver.insert import InsertContext

from schemas.outputs import Alert, EnrichedEvent
from sinks.exceptions import SinkError, SinkUnavailable, SinkWriteError
from sinks.rows import ALERT_COLUMNS, EVENT_COLUMNS, Row, alert_row, event_row

__all__ = ["ClickHouseSink", "ddl_statements"]

logger = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

RETRY_AFTER_SECONDS = 5.0
"""What ``SinkUnavailable.retry_after`` says when the server or engine cannot be reached."""

LOOKUP_CHUNK = 1000
"""Ids per existence lookup; keeps query parameters well below HTTP URL limits."""

_ItemT = TypeVar("_ItemT", EnrichedEvent, Alert)


@dataclass(frozen=True, slots=True)
class _Table:
    """What the sink needs to know about one of its tables."""

    name: str
    id_column: str
    columns: tuple[str, ...]


EVENTS = _Table("enriched_events", "event_id", EVENT_COLUMNS)
ALERTS = _Table("alerts", "alert_id", ALERT_COLUMNS)
_TABLES = {table.name: table for table in (EVENTS, ALERTS)}


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

    def __init__(self, *, dsn: str, database: str = "gridwatch") -> None:
        """Remember where to connect.

        :param dsn: ``chdb:///abs/path`` for an embedded chDB engine, or
            ``http(s)://user:password@host:port`` for a ClickHouse server. Never
            logged, since it may carry a password.
        :param database: Database holding the tables; created by ``setup()``.
            Must be a plain identifier (it is spliced into DDL and queries).
        """
        _check_identifier(database)
        self._dsn = dsn
        self._database = database
        self._client: Client | None = None
        self._contexts: dict[str, InsertContext] = {}
        self._lock = threading.Lock()

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
                for name, statement in ddl_statements(self._database):
                    try:
                        client.command(statement)
                    except ClickHouseError as exc:
                        raise self._translate(exc, f"applying {name}") from None
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
        """Store alerts whose ``alert_id`` is not stored yet; return how many rows were written.

        :raises SinkUnavailable: nothing was written; retry the batch later.
        :raises SinkWriteError: the batch was rejected; retrying will not help.
        """
        return self._insert(ALERTS, alerts, _alert_key, alert_row)

    def count(self, table: str) -> int:
        """Rows of ``table`` as a merge would leave them (read with ``FINAL``).

        :param table: ``"enriched_events"`` or ``"alerts"``.
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
        first_by_id: dict[str, _ItemT] = {}
        for item in items:
            first_by_id.setdefault(key(item)[0], item)
        with self._lock:
            client = self._require_client()
            stored = self._stored_ids(client, table, first_by_id, key)
            rows = [to_row(item) for item_id, item in first_by_id.items() if item_id not in stored]
            if not rows:
                return 0
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
            return len(rows)

    def _stored_ids(
        self,
        client: Client,
        table: _Table,
        first_by_id: dict[str, _ItemT],
        key: Callable[[_ItemT], tuple[str, datetime]],
    ) -> set[str]:
        """Which ids of the batch the table already holds, looked up in the batch's time range.

        An id is stored with its own event_time, which never changes for that
        id, so bounding the lookup by the batch's min and max event_time loses
        nothing and lets ClickHouse skip other partitions and key ranges. One
        millisecond of slack on each side absorbs truncation to DateTime64(3).
        No ``FINAL``: any stored copy means "already written".
        """
        times = [key(item)[1] for item in first_by_id.values()]
        low = _epoch_millis(min(times)) - 1
        high = _epoch_millis(max(times)) + 1
        sql = (
            f"SELECT DISTINCT {table.id_column} FROM {self._database}.{table.name} "  # noqa: S608
            "WHERE event_time >= fromUnixTimestamp64Milli({low:Int64}) "
            "AND event_time <= fromUnixTimestamp64Milli({high:Int64}) "
            f"AND {table.id_column} IN {{ids:Array(String)}}"
        )
        ids = list(first_by_id)
        stored: set[str] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            try:
                result = client.query(sql, parameters={"low": low, "high": high, "ids": chunk})
            except ClickHouseError as exc:
                raise self._translate(exc, f"lookup of stored ids in {table.name}") from None
            stored.update(row[0] for row in result.result_rows)
        return stored


def _event_key(event: EnrichedEvent) -> tuple[str, datetime]:
    return event.event_id, event.event_time


def _alert_key(alert: Alert) -> tuple[str, datetime]:
    return alert.alert_id, alert.event_time
