"""Running ``gridwatch worker`` as a child process: for the demo, the benchmark and the tests.

The worker is a separate process so that it is measured, stopped and
restarted the way operators run it, and so that its embedded ClickHouse
(one process per data directory) is free once it stops.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, SecretStr

from streams.scrape import metric, scrape
from streams.settings import Settings

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTENER_PORTS_FROM = 20000
"""The lowest port ``free_port`` picks; it picks below the kernel's ephemeral range."""


def ephemeral_low(path: Path = EPHEMERAL_RANGE) -> int:
    """The first port of the kernel's ephemeral range (Linux's default 32768 where it cannot be read)."""
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(*, below: int | None = None, rng: random.Random | None = None) -> int:
    """A port on 127.0.0.1 that nothing holds now, for a listener started moments later (a broker, /metrics).

    Picked below the kernel's ephemeral range (``below``, read from the kernel by default). A port the kernel
    gives for binding port 0 lies in that range, which is also where it takes the local port of every outgoing
    connection, so a client could hold it by the time the listener binds: the contention loop's fifth demo on
    8 December found its broker's port taken ("Address already in use") after four runs had used it. Below the
    range only listeners take ports. Where the range leaves no room below it, the kernel's pick it is.
    """
    top = ephemeral_low() if below is None else below
    pick = rng or random.SystemRandom()
    if top - LISTENER_PORTS_FROM >= 100:
        for _ in range(100):
            port = pick.randrange(LISTENER_PORTS_FROM, top)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list | dict):  # pydantic-settings reads a complex field's variable as JSON
        return json.dumps(value)
    return str(value)


def settings_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that makes a child's ``Settings()`` equal to ``settings``: every field, nested ones as
    ``GRIDWATCH_<SECTION>__<FIELD>`` (a field left out here would silently take its default in the child)."""
    env = {k: v for k, v in (base if base is not None else dict(os.environ)).items() if not k.startswith("GRIDWATCH_")}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            for field in type(value).model_fields:
                inner = getattr(value, field)
                if inner is not None:
                    env[f"GRIDWATCH_{name.upper()}__{field.upper()}"] = _env_value(inner)
        elif value is not None:
            env[f"GRIDWATCH_{name.upper()}"] = _env_value(value)
    return env


class WorkerProcess:
    """One worker child; ``start`` returns once it consumes and its sink is connected."""

    def __init__(self, *, log_path: Path, metrics_port: int, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.metrics_port = metrics_port
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None  # noqa: S101
        return self.proc.pid

    def start(self, timeout: float = 180.0) -> float:
        """Start and wait until ready; returns seconds from spawn to ready."""
        self.spawn()
        return self.wait_ready(timeout)

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            # own session: a Ctrl-C meant for the parent does not reach the worker half-way
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float = 180.0) -> float:
        assert self.proc is not None  # noqa: S101 - spawn() first
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode} during start-up:\n{self.log_tail()}")
            if self.ready():
                return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def ready(self) -> bool:
        """Both parts report ready on /metrics (gridwatch_worker_ready)."""
        try:
            samples = scrape(self.metrics_port)
        except OSError:
            return False
        parts = ("consumer", "sink", "registers")
        return all(metric(samples, "gridwatch_worker_ready", component=c) == 1 for c in parts)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as an operator would; the worker commits and closes its sink."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing is flushed or committed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def peak_rss_mb(self) -> float:
        """The child's high-water resident set (VmHWM), read while it runs."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
