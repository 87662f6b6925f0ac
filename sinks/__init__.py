"""ClickHouse sink: enriched events and alerts (latest state and history), stored idempotently.

See ``sinks.clickhouse`` for the write path and ``sinks/ddl`` for the tables.
"""

from sinks.clickhouse import ClickHouseSink, ddl_statements
from sinks.exceptions import SinkDiskFull, SinkError, SinkUnavailable, SinkWriteError
from sinks.rows import ALERT_COLUMNS, ALERT_HISTORY_COLUMNS, EVENT_COLUMNS, alert_history_row, alert_row, event_row

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_HISTORY_COLUMNS",
    "EVENT_COLUMNS",
    "ClickHouseSink",
    "SinkDiskFull",
    "SinkError",
    "SinkUnavailable",
    "SinkWriteError",
    "alert_history_row",
    "alert_row",
    "ddl_statements",
    "event_row",
]
