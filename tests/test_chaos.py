"""A short fault campaign in the suite: one run of each fast scenario, on a broker of the campaign's own.

The full campaign is ``make chaos``; this is its smallest honest form, so a
change that loses, doubles or sticks fails the suite, not only the campaign.
"""

from __future__ import annotations

from pathlib import Path

from streams.chaos.checker import PROMISES
from streams.chaos.runner import ChaosConfig, campaign

FAST = ("worker-kill", "worker-term", "backlog", "clickhouse-outage", "bad-input")


def test_kills_stops_a_backlog_a_clickhouse_outage_and_bad_records_lose_double_and_stick_nothing(
        tmp_path: Path) -> None:
    cfg = ChaosConfig(events=3_000, residents=2_000, kills=3, terms=3, bad_records=500, work=tmp_path / "chaos")
    summaries = campaign(list(FAST), runs=1, cfg=cfg)
    assert summaries["worker-kill"]["faults"] == 3 and summaries["worker-term"]["faults"] == 3
    bad = summaries["bad-input"]["per_run"][0]
    assert sum(bad["bad_kinds"].values()) == 500 and bad["dead_letters_expected"] > 0 and len(bad["bad_kinds"]) > 20
    assert summaries["worker-kill"]["events_per_run"] == 3_000 and summaries["worker-kill"]["alerts_expected"] > 0
    for name in FAST:
        summary = summaries[name]
        print(name, {k: summary[k] for k in (*PROMISES, "slow_stops", "alerts_stopped", "recovery_s_max")})
        assert {k: summary[k] for k in PROMISES} == dict.fromkeys(PROMISES, 0)
    assert summaries["worker-term"]["slow_stops"] == 0  # every SIGTERM exited within 10 s
    assert summaries["clickhouse-outage"]["alerts_stopped"] == 0  # alerts went on while ClickHouse was down
    assert summaries["clickhouse-outage"]["per_run"][0]["alerts_during_outage"] > 0
