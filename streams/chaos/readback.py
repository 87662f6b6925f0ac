"""``python -m streams.chaos.readback DSN DATABASE``: what a stopped worker left in ClickHouse, as JSON.

A child process of the campaign because chDB admits one process per data
directory and the campaign reads one directory per run. Rows per event id are
counted without ``FINAL``: a row stored twice shows until a merge folds it.
"""

from __future__ import annotations

import json
import sys

import clickhouse_connect


def main(dsn: str, database: str) -> None:
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        stored = {str(row[0]): int(row[1]) for row in client.query(
            f"SELECT event_id, count() FROM {database}.enriched_events GROUP BY event_id").result_rows}  # noqa: S608
        alerts = {row[0]: [row[1], row[2], row[3], row[4], row[5]] for row in client.query(
            f"SELECT alert_id, fingerprint, toString(status), count, rule_id, revision "  # noqa: S608
            f"FROM {database}.alerts FINAL").result_rows}
    finally:
        client.close()
    json.dump({"stored": stored, "alerts": alerts}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
