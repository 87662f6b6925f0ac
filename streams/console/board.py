"""The live list's state: every alert's latest revision and its history, and the views over them.

Pure: no Kafka, no web. The feed applies each revision read from ``alerts``
(in any order, any number of times: a revision number at or below the one
held changes nothing), the web layer asks for views. A view is what one
operator may see (grid staff: their large grid only), narrowed by the
page's filters, sorted worst first: open before acknowledged before
resolved, then by severity, then the most recently changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas import Alert, Severity
from streams.console.operators import Operator

CHINA = timezone(timedelta(hours=8))
SEVERITY_RANK: dict[str, int] = {s.value: i for i, s in enumerate(Severity)}
STATUS_RANK: dict[str, int] = {"open": 0, "acknowledged": 1, "resolved": 2}
SEVERITY_ZH: dict[str, str] = {"info": "提示", "warning": "警告", "high": "严重", "critical": "危急"}
STATUS_ZH: dict[str, str] = {"open": "未处理", "acknowledged": "已确认", "resolved": "已解决"}
CHANGE_ZH: dict[str, str] = {"opened": "新告警", "repeated": "重复", "escalated": "升级", "acknowledged": "确认",
                             "commented": "备注", "resolved": "解决", "expired": "过期"}


def local_time(moment: datetime | None) -> str:
    """A time as operations read it: Beijing time, the zone written out."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") + " UTC+8"


class FilterError(ValueError):
    """A filter the page sent that cannot be read (named, never echoed)."""


@dataclass(frozen=True)
class Filters:
    """The page's filters, as kept in its URL's query string; empty means "any"."""

    large_grid: str = ""
    small_grid: str = ""
    rule: str = ""
    severity: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = (query.get(f.name) or "").strip()
            if not raw:
                continue
            if f.name in ("since", "until"):
                try:
                    moment = datetime.fromisoformat(raw)
                except ValueError:
                    raise FilterError(f"{f.name}: not a date and time") from None
                values[f.name] = moment if moment.tzinfo else moment.replace(tzinfo=CHINA)
            elif f.name == "severity" and raw not in SEVERITY_RANK:
                raise FilterError("severity: one of info, warning, high, critical")
            elif f.name == "status" and raw not in STATUS_RANK:
                raise FilterError("status: one of open, acknowledged, resolved")
            else:
                values[f.name] = raw[:100]
        return cls(**values)

    def matches(self, alert: Alert) -> bool:
        place = alert.place
        if self.large_grid and place.large_grid != self.large_grid:
            return False
        if self.small_grid and place.small_grid != self.small_grid:
            return False
        if self.rule and alert.rule_id != self.rule:
            return False
        if self.severity and alert.severity != self.severity:
            return False
        if self.status and alert.status != self.status:
            return False
        last = alert.last_event_time or alert.event_time
        if self.since and last < self.since:
            return False
        if self.until and alert.event_time > self.until:
            return False
        if self.q:
            text = " ".join((alert.alert_id, alert.rule_id, alert.summary_zh, alert.summary_en, place.checkpoint_id,
                             place.compound_id, place.large_grid, place.small_grid, alert.subject_masked,
                             alert.dwelling_id)).lower()
            return self.q.lower() in text
        return True


def sort_key(alert: Alert) -> tuple[int, int, float]:
    """Worst first: status, then severity (highest first), then latest change first."""
    changed = alert.updated_at or alert.detected_at
    return STATUS_RANK[alert.status], -SEVERITY_RANK[alert.severity], -changed.timestamp()


@dataclass(frozen=True)
class GridState:
    """One large grid on the map: its alerts not yet resolved, and the worst of them."""

    large_grid: str
    unresolved: int
    worst: str  # a severity, or "" with nothing unresolved


class AlertBoard:
    def __init__(self) -> None:
        self._latest: dict[str, Alert] = {}
        self._history: dict[str, dict[int, Alert]] = {}

    def __len__(self) -> int:
        return len(self._latest)

    def apply(self, alert: Alert) -> Alert | None:
        """Take one revision; the alert's new latest revision, or None if this one is not newer than the one held."""
        self._history.setdefault(alert.alert_id, {}).setdefault(alert.revision, alert)
        held = self._latest.get(alert.alert_id)
        if held is not None and held.revision >= alert.revision:
            return None
        self._latest[alert.alert_id] = alert
        return alert

    def get(self, alert_id: str, operator: Operator) -> Alert | None:
        """The alert if it exists and this operator may see it; None otherwise (an operator cannot tell which)."""
        alert = self._latest.get(alert_id)
        return alert if alert is not None and operator.sees(alert.place.large_grid) else None

    def history(self, alert_id: str) -> list[Alert]:
        """Every revision received, oldest first (a gap means a revision not read, e.g. before retention)."""
        return [r for _, r in sorted(self._history.get(alert_id, {}).items())]

    def view(self, operator: Operator, filters: Filters = Filters()) -> list[Alert]:
        return sorted((a for a in self._latest.values() if operator.sees(a.place.large_grid) and filters.matches(a)),
                      key=sort_key)

    def grids(self, operator: Operator, large_grids: Iterable[str]) -> list[GridState]:
        """Every large grid the operator may see, in the order given, with its unresolved alerts."""
        count: dict[str, int] = {}
        worst: dict[str, str] = {}
        for a in self._latest.values():
            if a.status == "resolved":
                continue
            g = a.place.large_grid
            count[g] = count.get(g, 0) + 1
            if SEVERITY_RANK[a.severity] > SEVERITY_RANK.get(worst.get(g, ""), -1):
                worst[g] = a.severity
        return [GridState(g, count.get(g, 0), worst.get(g, "")) for g in large_grids if operator.sees(g)]


def row(alert: Alert, names: Mapping[str, tuple[str, str]], now: datetime,
        place_names: Callable[[str, str], tuple[str, str]] = lambda c, p: (c, p)) -> dict[str, Any]:
    """One alert as the live list shows it (masked subject only; never a key or a raw ID); ``place_names`` gives
    the compound's and checkpoint's names for their ids."""
    name_zh, name_en = names.get(alert.rule_id, (alert.rule_id, alert.rule_id))
    changed = alert.updated_at or alert.detected_at
    compound_name, checkpoint_name = place_names(alert.place.compound_id, alert.place.checkpoint_id)
    return {
        "alert_id": alert.alert_id, "fingerprint": alert.fingerprint, "revision": alert.revision,
        "severity": alert.severity.value, "severity_zh": SEVERITY_ZH[alert.severity],
        "status": alert.status, "status_zh": STATUS_ZH[alert.status],
        "rule_id": alert.rule_id, "rule_zh": name_zh, "rule_en": name_en,
        "large_grid": alert.place.large_grid, "small_grid": alert.place.small_grid,
        "compound_id": alert.place.compound_id, "checkpoint_id": alert.place.checkpoint_id,
        "compound_name": compound_name, "checkpoint_name": checkpoint_name,
        "subject_masked": alert.subject_masked, "count": alert.count,
        "summary_zh": alert.summary_zh, "summary_en": alert.summary_en,
        "event_time": local_time(alert.event_time), "last_event_time": local_time(alert.last_event_time),
        "changed": local_time(changed), "age_s": max(0, int((now - changed).total_seconds())),
        "sort": list(sort_key(alert)),
    }
