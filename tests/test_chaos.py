"""A short fault campaign in the suite: SIGKILLs mid-stream and bad records, on a broker of the campaign's own.

The full campaign is ``make chaos``; this is its smallest honest form, so a
change that loses, doubles or sticks fails the suite, not only the campaign.
"""

from __future__ import annotations

from pathlib import Path

from streams.chaos.checker import PROMISES
from streams.chaos.runner import ChaosConfig, campaign


def test_sigkills_mid_stream_and_bad_records_lose_double_and_stick_nothing(tmp_path: Path) -> None:
    cfg = ChaosConfig(events=3_000, residents=2_000, kills=3, work=tmp_path / "chaos")
    summaries = campaign(["worker-kill", "bad-input"], runs=1, cfg=cfg)
    kill, bad = summaries["worker-kill"], summaries["bad-input"]
    assert kill["faults"] == 3 and bad["per_run"][0]["bad_records"] > 0
    assert kill["events_per_run"] == 3_000 and kill["alerts_expected"] > 0
    for summary in (kill, bad):
        print(summary["scenario"], {k: summary[k] for k in (*PROMISES, "recovery_s_max")})
        assert {k: summary[k] for k in PROMISES} == dict.fromkeys(PROMISES, 0)
