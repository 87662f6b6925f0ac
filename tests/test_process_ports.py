"""Ports for the project's own listeners: free now, and out of the way of outgoing connections."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from streams.process import LISTENER_PORTS_FROM, ephemeral_low, free_port


def test_a_free_port_lies_below_the_kernels_ephemeral_range_and_can_be_bound() -> None:
    low = ephemeral_low()
    for _ in range(20):
        port = free_port()
        assert LISTENER_PORTS_FROM <= port < low
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


class _Scripted(random.Random):
    """Picks the given ports in turn."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__()
        self._ports = iter(ports)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        port = next(self._ports)
        assert stop is not None and start <= port < stop
        return port


def test_a_port_already_taken_is_passed_over_for_the_next_pick() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        taken = held.getsockname()[1]
        other = next(p for p in range(LISTENER_PORTS_FROM, taken) if _bindable(p))
        assert free_port(rng=_Scripted([taken, taken, other])) == other


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_without_room_below_the_range_the_kernel_picks() -> None:
    port = free_port(below=LISTENER_PORTS_FROM + 10)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_ephemeral_range_is_read_from_the_kernels_file(tmp_path: Path) -> None:
    f = tmp_path / "range"
    f.write_text("40000\t60999\n", encoding="ascii")
    assert ephemeral_low(f) == 40000
    assert ephemeral_low(tmp_path / "missing") == 32768
