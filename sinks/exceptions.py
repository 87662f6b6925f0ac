"""Errors raised by the ClickHouse sink.

The caller (a Faust agent) decides per branch: wait and retry, dead-letter the
batch, or stop. Every error derives from one root, so ``except SinkError``
is always enough to keep a driver exception from leaking into the agent::

    SinkError
    ├── SinkUnavailable   the server or the chDB engine cannot be reached; retry later
    │   └── SinkDiskFull  ClickHouse has no space left to store the batch; retry once space returns
    └── SinkWriteError    the server answered and rejected a batch or a query

Messages name the table, the batch size and the ClickHouse error code and
symbol (``Code: 60 (UNKNOWN_TABLE)``) but never a row value or the server's
free text, which can quote the offending value. The driver exception is not
chained (``raise ... from None``) for the same reason: a logged traceback would
print its message.
"""

from __future__ import annotations

__all__ = ["SinkDiskFull", "SinkError", "SinkUnavailable", "SinkWriteError"]


class SinkError(Exception):
    """Root of every error the sink raises."""


class SinkUnavailable(SinkError):
    """ClickHouse cannot be reached, or the chDB engine path is held elsewhere.

    Nothing was written for the failed call. ``retry_after`` is the number of
    seconds the caller should wait before retrying; the batch must be kept and
    the offsets not committed.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SinkDiskFull(SinkUnavailable):
    """ClickHouse could not reserve space for the batch (``NOT_ENOUGH_SPACE``): nothing was written.

    Not the batch's fault, so not a ``SinkWriteError``: the same batch goes in once space returns. Named apart
    so the log and the metric say what an operator must do (free space on ClickHouse's data path).
    """


class SinkWriteError(SinkError):
    """The server rejected a batch or a query; retrying the same input will fail again.

    ``code`` is the numeric ClickHouse error code when the server gave one.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
