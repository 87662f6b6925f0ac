"""Reading a worker's /metrics back, for the demo's progress and the tests."""

from __future__ import annotations

import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metrics_text(port: int, host: str = "127.0.0.1") -> str:
    """The worker's /metrics page as it is served."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def scrape(port: int, host: str = "127.0.0.1") -> Samples:
    """Samples of the worker's /metrics as {(name, sorted labels): value}."""
    text = metrics_text(port, host)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    """Sum of a metric over all its label sets."""
    return sum(v for (n, _), v in samples.items() if n == name)


def wait_for_metric(port: int, name: str, at_least: float, timeout: float = 60.0, **labels: str) -> float:
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        value = metric(scrape(port), name, **labels)
        if value >= at_least:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{name}{labels} stayed at {value} < {at_least}")
