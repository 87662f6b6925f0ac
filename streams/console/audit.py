"""The console's audit trail: every login, action and question, who and when, one JSON line each.

Appended to ``console.audit_file`` and flushed per line, so a crash loses
nothing written before it. A tracing query is recorded by the person's
pseudonymous key, never the ID number typed; a failed login by the account
name only when such an account exists (a mistyped name may be anything,
even a person's ID number).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class AuditTrail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, operator: str, what: str, *, target: str = "", outcome: str = "ok",
               at: datetime | None = None, **detail: Any) -> None:
        line = {"at": (at or datetime.now(UTC)).isoformat(), "operator": operator, "what": what,
                "target": target, "outcome": outcome, **detail}
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._lock:
            return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x.strip()]
