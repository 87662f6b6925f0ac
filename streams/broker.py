"""The project's Kafka broker as a child process: ``infra/kafka/broker.sh`` with its environment.

``broker_sh`` runs one action of the script; ``EphemeralBroker`` is a broker
of its own on free ports with its own data directory, for the test suite and
the fault campaign (which stops and starts it again on purpose).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from streams.process import free_port
from streams.settings import REPO_ROOT

BROKER_SH = REPO_ROOT / "infra" / "kafka" / "broker.sh"


def broker_sh(action: str, env: dict[str, str], *, check: bool, quiet: bool = False) -> int:
    """``broker.sh start|stop|status`` under ``env``; its exit code."""
    done = subprocess.run(["bash", str(BROKER_SH), action], env=env, check=check,  # noqa: S603, S607
                          stdout=subprocess.DEVNULL if quiet else None)
    return done.returncode


class EphemeralBroker:
    """A broker on free ports with its data under ``data_dir``; ``start`` and ``stop`` as often as needed."""

    def __init__(self, data_dir: Path, *, quiet: bool = False) -> None:
        self.port = free_port()
        self.env = os.environ | {
            "KAFKA_PORT": str(self.port), "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_DATA_DIR": str(data_dir), "KAFKA_HEAP_OPTS": "-Xms256m -Xmx768m",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._quiet = quiet

    def start(self) -> None:
        broker_sh("start", self.env, check=True, quiet=self._quiet)

    def stop(self) -> None:
        broker_sh("stop", self.env, check=False, quiet=self._quiet)
