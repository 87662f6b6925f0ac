"""The benchmark's picture: throughput bars (pipeline, limit, peers) and the latency-vs-load curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def plot(figures: dict[str, Any], path: Path) -> None:
    fig, (bars, curve) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = ["gridwatch (1 worker)"]
    values = [figures["throughput_eps"]]
    if figures.get("two_workers_eps"):
        names.append("gridwatch (2 workers)")
        values.append(figures["two_workers_eps"])
    names.append("limit: bare aiokafka")
    values.append(figures["limit_eps"])
    for name, eps in figures["peers"].items():
        names.append(f"peer: {name}")
        values.append(eps)
    colours = ["#2b6cb0"] * (2 if figures.get("two_workers_eps") else 1) + ["#718096"] + ["#dd6b20"] * len(
        figures["peers"]
    )
    bars.barh(names[::-1], values[::-1], color=colours[::-1])
    for y, v in enumerate(values[::-1]):
        bars.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
    bars.set_xlabel("events per second (end to end, same input)")
    bars.set_title(f"{figures['events']:,} events, {int(figures['residents']):,} residents")
    bars.margins(x=0.25)

    points = figures["latency_curve"]
    for key, style in (("p50", "-o"), ("p99", "-s"), ("max", ":^")):
        xs = [p["offered_eps"] for p in points if p[key] is not None]
        ys = [p[key] for p in points if p[key] is not None]
        curve.plot(xs, ys, style, label=key, markersize=4)
    for p in points:
        if p["p99"] is not None:
            curve.annotate(f"{p['achieved_eps']:,.0f} done", (p["offered_eps"], p["p99"]), fontsize=7,
                           textcoords="offset points", xytext=(4, 4))
    two = figures.get("two_workers_latency_curve") or []
    xs = [p["offered_eps"] for p in two if p["p99"] is not None]
    if xs:
        curve.plot(xs, [p["p99"] for p in two if p["p99"] is not None], "--s", label="p99, two workers",
                   markersize=4, color="#805ad5")
    probe = figures["probe_ms"]
    if probe["p99"] is not None:
        curve.axhline(probe["p99"], linestyle="--", color="#a0aec0")
        curve.text(points[0]["offered_eps"] if points else 1, probe["p99"], f" idle probe p99 {probe['p99']:.0f} ms",
                   fontsize=7, va="bottom")
    curve.set_xscale("log")
    curve.set_yscale("log")
    curve.set_xlabel("events/s offered (label: events/s achieved)")
    curve.set_ylabel("event to alert revision, ms")
    curve.set_title("latency vs load, one worker" + (" (and two)" if xs else ""))
    curve.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
