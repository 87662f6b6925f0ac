"""The project's Kafka broker as a child process: ``infra/kafka/broker.sh`` with its environment.

``broker_sh`` runs one action of the script; ``EphemeralBroker`` is a broker
of its own on free ports with its own data directory, for the test suite and
the fault campaign (which stops and starts it again on purpose).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
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

    def __init__(self, data_dir: Path, *, quiet: bool = False, secured: bool = False,
                 topic_prefix: str = "gridwatch.", app_id: str = "gridwatch") -> None:
        self.port = free_port()
        self.env = os.environ | {
            "KAFKA_PORT": str(self.port), "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_DATA_DIR": str(data_dir), "KAFKA_HEAP_OPTS": "-Xms256m -Xmx768m",
            "KAFKA_SECURED": "1" if secured else "0", "KAFKA_TOPIC_PREFIX": topic_prefix, "KAFKA_APP_ID": app_id,
        }
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.secrets = data_dir / "secrets"
        """Secured: the CA (``ca.pem``) and each principal's ``<user>.password``, made by broker.sh."""
        self._quiet = quiet

    def credentials(self, user: str) -> dict[str, str]:
        """The ``kafka`` settings that make a client of ours connect to this (secured) broker as ``user``."""
        return {"bootstrap": self.bootstrap, "security_protocol": "SASL_SSL", "sasl_username": user,
                "sasl_password_file": str(self.secrets / f"{user}.password"),
                "ssl_cafile": str(self.secrets / "ca.pem")}

    def start(self) -> None:
        broker_sh("start", self.env, check=True, quiet=self._quiet)

    def stop(self) -> None:
        broker_sh("stop", self.env, check=False, quiet=self._quiet)

    def kill(self) -> None:
        """SIGKILL the broker (no shutdown of its own: the fault campaign's crash), and wait until it is gone."""
        pidfile = Path(self.env["KAFKA_DATA_DIR"]) / "broker.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return  # not running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            for _ in range(300):  # broker.sh's grandchild, not ours to wait for: poll until gone (or a zombie)
                os.kill(pid, 0)
                if _zombie(pid):
                    break
                time.sleep(0.1)
        pidfile.unlink(missing_ok=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False
