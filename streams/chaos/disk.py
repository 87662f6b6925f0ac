"""A small disk for the ``disk-full`` scenario: a tmpfs of a given size over a directory, filled and freed at will.

Needs root (``mount``), as the campaign's machines have; anywhere else
``SmallDisk.mount`` raises ``DiskFault`` with mount's own one-line reason.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

__all__ = ["DiskFault", "SmallDisk"]

_FILLER = ".chaos-filler"


class DiskFault(RuntimeError):
    """The small disk could not be set up or taken down."""


class SmallDisk:
    """A tmpfs of ``size_mb`` over ``path`` (created if missing)."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        self.size_mb = size_mb
        self.mounted = False

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m", "tmpfs", str(self.path)],  # noqa: S603, S607
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DiskFault(f"cannot mount a {self.size_mb} MB tmpfs at {self.path}: {done.stderr.strip()}")
        self.mounted = True

    def unmount(self) -> None:
        if not self.mounted:
            return
        done = subprocess.run(["umount", "-l", str(self.path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
        if done.returncode != 0:
            raise DiskFault(f"cannot unmount {self.path}: {done.stderr.strip()}")
        self.mounted = False

    def fill(self) -> int:
        """Write a filler file until the disk has no space left; the bytes written."""
        written = 0
        chunk = b"\0" * (1 << 20)
        with (self.path / _FILLER).open("ab", buffering=0) as f:
            try:
                while True:
                    written += f.write(chunk) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        return written

    def free(self) -> None:
        """Give the space back."""
        (self.path / _FILLER).unlink(missing_ok=True)
