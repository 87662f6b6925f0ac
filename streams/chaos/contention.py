"""The demo and the smoke benchmark, each run again and again while a CPU-bound process loads every core.

``python -m streams.chaos.contention --runs 10 --out bench-results/chaos/contention.json``

On a busy machine the worker used to stop altogether (3 events in 356 s,
"Stream has not started processing" on every partition). A busy machine
must make it slower, never silent: each run here must finish within
``--timeout`` seconds (else it counts as a **stall**) and succeed (the demo
exits 0 only when every injected incident alerted; the smoke benchmark when
nothing was lost or doubled). Prints one line per run and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streams.broker import EphemeralBroker
from streams.process import free_port
from streams.settings import REPO_ROOT


@contextmanager
def cpu_hogs() -> Iterator[None]:
    """One busy loop per core for the duration."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def _run(cmd: list[str], env: dict[str, str], timeout: float, log: Path) -> dict[str, Any]:
    started = time.monotonic()
    with log.open("w") as out:
        try:
            rc: int | None = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                            timeout=timeout, check=False, cwd=REPO_ROOT).returncode
        except subprocess.TimeoutExpired:
            rc = None
    return {"rc": rc, "seconds": round(time.monotonic() - started, 1), "stalled": rc is None, "log": str(log)}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env["GRIDWATCH_DATA_DIR"] = str(data_dir)
    return env


def campaign(runs: int, timeout: float, work: Path, say: Any = print) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "streams.cli"]
    results: dict[str, list[dict[str, Any]]] = {"demo": [], "smoke_bench": []}
    broker = EphemeralBroker(work / "smoke-broker" / "kafka", quiet=True)
    broker.start()
    try:
        for i in range(runs):
            with cpu_hogs():
                demo_port = free_port()  # per run: a port free minutes ago need not be now
                demo = _run([*cli, "--bootstrap", f"127.0.0.1:{demo_port}", "demo", "--exit-when-done"],
                            _env(work / "demo"), timeout, work / f"demo-{i + 1}.log")
                results["demo"].append(demo)
                say(f"demo {i + 1}/{runs}: exit {demo['rc']}, {demo['seconds']:.0f} s"
                    + (" STALLED" if demo["stalled"] else ""))
                smoke = _run([*cli, "--bootstrap", broker.bootstrap, "bench", "--external-broker", "--events",
                              "3000", "--residents", "2000", "--peer-events", "400", "--latency-eps", "500",
                              "--latency-curve", "500,1000", "--latency-seconds", "3", "--probe-events", "10",
                              "--partitions", "2", "--out", str(work / f"smoke-{i + 1}.json")],
                             _env(work / "smoke"), timeout, work / f"smoke-{i + 1}.log")
                results["smoke_bench"].append(smoke)
                say(f"smoke benchmark {i + 1}/{runs}: exit {smoke['rc']}, {smoke['seconds']:.0f} s"
                    + (" STALLED" if smoke["stalled"] else ""))
    finally:
        broker.stop()
    summary: dict[str, Any] = {"runs": runs, "timeout_s": timeout, "cores_loaded": os.cpu_count()}
    for name, rs in results.items():
        summary[name] = {"stalls": sum(r["stalled"] for r in rs), "failed": sum(r["rc"] not in (0, None) for r in rs),
                         "seconds_max": max((r["seconds"] for r in rs), default=0.0), "per_run": rs}
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m streams.chaos.contention", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take before it counts as stalled")
    ap.add_argument("--work", type=Path, default=REPO_ROOT / ".data" / "contention")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results" / "chaos" / "contention.json")
    args = ap.parse_args(argv)
    summary = campaign(args.runs, args.timeout, args.work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "per_run"} if isinstance(v, dict) else v)
                      for k, v in summary.items()}))
    bad = sum(summary[n]["stalls"] + summary[n]["failed"] for n in ("demo", "smoke_bench"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
