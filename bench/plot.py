"""The benchmark's picture: throughput bars (pipeline, limit, peers) and the latency CDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def plot(figures: dict[str, Any], path: Path) -> None:
    fig, (bars, cdf) = plt.subplots(1, 2, figsize=(12, 4.5))
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

    lat = figures["latency_ms"]
    samples = sorted(lat["cdf"])
    if samples:
        ys = [(i + 1) / len(samples) for i in range(len(samples))]
        cdf.plot(samples, ys, color="#2b6cb0")
    for p in ("p50", "p95", "p99"):
        cdf.axvline(lat[p], linestyle=":", color="#a0aec0")
        cdf.text(lat[p], 0.02, f" {p} {lat[p]:.0f} ms", rotation=90, fontsize=8, va="bottom")
    cdf.set_xlabel("upload to alert, ms")
    cdf.set_ylabel("fraction of alerts")
    cdf.set_title(f"latency at {lat['offered_eps']:,.0f} events/s offered ({lat['alerts']} alerts)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
