"""The benchmark runs end to end at a smoke size and writes what the README promises.

It asserts the shape of the result and the correctness figures (nothing lost,
nothing duplicated); speeds are figures to read, never pass/fail here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Broker

pytestmark = pytest.mark.integration

KEYS = {
    "throughput_eps", "limit_eps", "ratio_to_limit", "peers", "latency_ms", "peak_rss_mb",
    "restart_s", "two_workers_eps", "lost", "duplicated", "latency_curve", "probe_ms",
    "two_workers_latency_curve", "two_workers_probe_ms",
}


def test_benchmark_at_smoke_size_writes_json_and_plot_with_no_event_lost_or_duplicated(
    kafka_broker: Broker, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env["GRIDWATCH_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--bootstrap", kafka_broker.bootstrap, "bench",
         "--external-broker", "--events", "3000", "--residents", "2000", "--peer-events", "400",
         "--latency-eps", "500", "--latency-curve", "500,1000",
         "--latency-seconds", "3", "--probe-events", "10", "--partitions", "2", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result) >= KEYS
    assert set(result["peers"]) == {"naive_faust", "quix"}
    assert all(v > 0 for v in result["peers"].values())
    # alert revisions arrived and were timed (the phase waits for every probe's alert, so no NaN on a busy machine)
    lat = result["latency_ms"]
    assert lat["target_eps"] == 500 and lat["revisions"] > 0
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    first = result["latency_curve"][0]
    assert set(first) == {"offered_eps", "achieved_eps", "p50", "p95", "p99", "max"} and first["achieved_eps"] > 0
    assert result["probe_ms"]["p50"] is not None and result["probe_ms"]["p50"] <= result["probe_ms"]["p99"]
    probe = result["phases"]["latency"]["probe"]
    assert probe["alerted"] == 10
    # each probe's delay split where the worker made the revision: both parts measured, neither past the whole
    assert 0 < probe["sent_to_made_ms"]["p50"] <= probe["max"]
    assert 0 < probe["made_to_arrival_ms"]["p50"] <= probe["max"]
    assert result["events"] == 3000
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["throughput_eps"] > 0 and result["limit_eps"] > 0 and result["two_workers_eps"] > 0
    # two workers of one group, one per core: the same curve and probe, every probe alerted by whichever owns it
    two = result["two_workers_latency_curve"][0]
    assert two["achieved_eps"] > 0 and two["p50"] is not None and two["p50"] <= two["p99"]
    assert result["phases"]["two_workers"]["latency"]["probe"]["alerted"] == 10
    assert result["machine"]["git_revision"]
    png = out.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
