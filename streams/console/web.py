"""The console's web application (aiohttp): pages, the live stream, actions, tracing and the report.

Every route but ``/login`` and ``/static`` needs a session; every POST needs
its CSRF token. What an operator may see is decided here, on the server, from
the accounts file: grid staff get only their large grid's alerts, in the
stream, on an alert's page and for an action (another grid's alert answers
404, exactly as one that does not exist). The actor of an action is the
session's operator, never a form field.

The live list is a Server-Sent Events stream (``/stream``, filters in its
query string, as in the page's URL): a full snapshot first, on every
(re)connect, then each new revision the operator may see (with whether it
still matches the filters) and a heartbeat every few seconds that says
whether the console still hears from the broker. The page's badge is drawn
from that: live, reconnecting, or stale.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from schemas import Alert, AlertAction
from streams.console import pages
from streams.console.audit import AuditTrail
from streams.console.board import CHINA, AlertBoard, FilterError, Filters, GridState, row
from streams.console.census import Census
from streams.console.operators import Operator, OperatorBook
from streams.console.places import Places
from streams.console.queries import DayReport, Queries
from streams.console.session import COOKIE, Session, SessionSigner
from streams.idcard import problems
from streams.privacy import PersonKeys

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
HEARTBEAT_S = 3.0
LIVE_WITHIN_S = 10.0


@dataclass(frozen=True)
class RuleText:
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str


@dataclass(eq=False)
class Client:
    operator: Operator
    filters: Filters
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))


@dataclass
class Console:
    """Everything the pages need; made by ``streams.console.server`` (or by a test, with fakes where it likes)."""

    board: AlertBoard
    places: Places
    operators: OperatorBook
    signer: SessionSigner
    audit: AuditTrail
    rules: Mapping[str, RuleText]
    person_keys: PersonKeys
    publish: Callable[[AlertAction], Awaitable[None]]
    queries: Queries | None = None
    census: Census = field(default_factory=Census)
    heard_at: Callable[[], float] = lambda: time.monotonic()
    clock: Callable[[], float] = time.time
    clients: set[Client] = field(default_factory=set)

    # the feed's side (called on the loop's thread)

    def take(self, alert: Alert) -> None:
        latest = self.board.apply(alert)
        if latest is None:
            return
        shown = row(latest, self._names(), datetime.now(UTC), self.places.names)
        grids: dict[str, list[dict[str, Any]]] = {}  # per operator: pages of one operator share the counts
        for c in list(self.clients):
            if not c.operator.sees(latest.place.large_grid):
                continue
            if c.operator.name not in grids:
                grids[c.operator.name] = self._grids(c.operator)
            message = {"row": shown, "matches": c.filters.matches(latest), "grids": grids[c.operator.name]}
            try:
                c.queue.put_nowait(("revision", message))
            except asyncio.QueueFull:  # a page that stopped reading: drop it, its reconnect gets a snapshot
                self.clients.discard(c)

    def snapshot(self, operator: Operator, filters: Filters) -> dict[str, Any]:
        now = datetime.now(UTC)
        names = self._names()
        return {"rows": [row(a, names, now, self.places.names) for a in self.board.view(operator, filters)],
                "grids": self._grids(operator), "heartbeat": self.heartbeat()}

    def heartbeat(self) -> dict[str, Any]:
        ago = time.monotonic() - self.heard_at()
        return {"feed_live": ago < LIVE_WITHIN_S, "heard_ago_s": round(ago, 1), "alerts": len(self.board)}

    def _names(self) -> dict[str, tuple[str, str]]:
        return {k: (v.name_zh or k, v.name_en or k) for k, v in self.rules.items()}

    def _grids(self, operator: Operator) -> list[dict[str, Any]]:
        grids = [g for gs in self.places.large_grids().values() for g in gs]
        seen = {a.place.large_grid for a in self.board.view(operator)} - set(grids)
        return [asdict(s) for s in self.board.grids(operator, [*grids, *sorted(seen)])]


CONSOLE = web.AppKey("console", Console)


def _console(request: web.Request) -> Console:
    return request.app[CONSOLE]


def _session(request: web.Request) -> tuple[Session, Operator] | None:
    c = _console(request)
    session = c.signer.read(request.cookies.get(COOKIE), now=c.clock())
    if session is None:
        return None
    operator = c.operators.get(session.name)
    return (session, operator) if operator is not None else None


Handler = Callable[[web.Request, Session, Operator], Awaitable[web.StreamResponse]]


def authed(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page for operators: no session → the login page (an API or stream: 401); a POST also needs its CSRF token."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        found = _session(request)
        if found is None:
            if request.method == "GET" and not request.path.startswith(("/api/", "/stream")):
                raise web.HTTPFound("/login")
            raise web.HTTPUnauthorized(text="log in first")
        session, operator = found
        if request.method == "POST":
            form = await request.post() if request.content_type != "application/json" else {}
            token = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
            if not _console(request).signer.csrf_ok(session, token):
                raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
        return await handler(request, session, operator)

    return wrapped


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status,
                        headers={"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                 "script-src 'self' 'unsafe-inline'", "X-Frame-Options": "DENY",
                                 "Referrer-Policy": "no-referrer"})


def _filters(request: web.Request) -> Filters:
    try:
        return Filters.parse(request.query)
    except FilterError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


# login

async def login_page(request: web.Request) -> web.StreamResponse:
    c = _console(request)
    return _html(pages.login(token=c.signer.issue("form", now=c.clock(), purpose="login")))


async def login(request: web.Request) -> web.StreamResponse:
    c = _console(request)
    form = await request.post()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    token = c.signer.read(str(form.get("token", "")), now=c.clock(), purpose="login")
    if token is None:
        return _html(pages.login("页面已过期，请重试 The page expired; try again.",
                                 c.signer.issue("form", now=c.clock(), purpose="login")), status=400)
    operator = await asyncio.to_thread(c.operators.authenticate, name, password)
    if operator is None:
        known = c.operators.get(name) is not None
        c.audit.record(name if known else "(unknown account)", "login", outcome="refused")
        again = c.signer.issue("form", now=c.clock(), purpose="login")
        return _html(pages.login("账号或密码错误 Wrong operator or password.", again), status=401)
    c.audit.record(operator.name, "login")
    response = web.HTTPFound("/")
    response.set_cookie(COOKIE, c.signer.issue(operator.name, now=c.clock()), httponly=True, samesite="Strict",
                        max_age=int(c.signer.max_age_s), path="/")
    raise response


@authed
async def logout(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    _console(request).audit.record(operator.name, "logout")
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# the live list

@authed
async def index(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    filters = _filters(request)
    rules = [(k, f"{v.name_zh} {v.name_en}") for k, v in sorted(c.rules.items())]
    states = {g["large_grid"]: g for g in c._grids(operator)}
    svg = pages.grid_map({k: [g for g in v if operator.sees(g)] for k, v in c.places.large_grids().items()
                          if any(operator.sees(g) for g in v)},
                         {k: GridState(**v) for k, v in states.items()})
    body = pages.alert_list(filters, rules, c.places, svg)
    return _html(pages.page("告警 Alerts", body, operator=operator, csrf=session.csrf, script="gridwatch.list();"))


@authed
async def stream(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    client = Client(operator, _filters(request))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    c.clients.add(client)
    try:
        await response.write(b"retry: 2000\n\n")
        await _event(response, "snapshot", c.snapshot(operator, client.filters))
        while True:
            try:
                kind, message = await asyncio.wait_for(client.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                kind, message = "heartbeat", c.heartbeat()
            await _event(response, kind, message)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        c.clients.discard(client)
    return response


async def _event(response: web.StreamResponse, kind: str, data: Mapping[str, Any]) -> None:
    await response.write(f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())


@authed
async def alerts_csv(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    rows = c.snapshot(operator, _filters(request))["rows"]
    cols = ["alert_id", "severity", "status", "rule_id", "rule_zh", "large_grid", "small_grid", "compound_id",
            "compound_name", "checkpoint_id", "checkpoint_name", "subject_masked", "count", "event_time",
            "last_event_time", "changed", "summary_zh"]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(cols)
    for r in rows:
        w.writerow([r[k] for k in cols])
    return web.Response(body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="alerts.csv"'})


# one alert

def _visible(request: web.Request, operator: Operator) -> Alert:
    alert = _console(request).board.get(request.match_info["alert_id"], operator)
    if alert is None:
        raise web.HTTPNotFound(text="no such alert")
    return alert


@authed
async def alert_page(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    alert = _visible(request, operator)
    text = c.rules.get(alert.rule_id, RuleText(alert.rule_id, alert.rule_id, "", ""))
    events: list[dict[str, Any]] = []
    if c.queries is not None:
        try:
            events = await asyncio.to_thread(c.queries.events, alert.event_ids)
        except Exception as exc:
            log.warning("console: events of an alert not read (%s)", type(exc).__name__)
    body = pages.alert_detail(alert, c.board.history(alert.alert_id), c.places, rule_zh=text.name_zh or alert.rule_id,
                              rule_en=text.name_en, description=(text.description_zh, text.description_en),
                              events=events, csrf=session.csrf)
    return _html(pages.page(alert.rule_id, body, operator=operator, csrf=session.csrf,
                            script="gridwatch.detail();"))


@authed
async def alert_json(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    alert = _visible(request, operator)
    shown = row(alert, c._names(), datetime.now(UTC), c.places.names)
    return web.json_response({"row": shown, "revision": alert.revision, "status": alert.status})


@authed
async def act(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    alert = _visible(request, operator)
    form = await request.post()
    kind, note = str(form.get("action", "")), str(form.get("note", "")).strip()
    if kind not in ("acknowledge", "comment", "resolve"):
        raise web.HTTPBadRequest(text="action: acknowledge, comment or resolve")
    try:
        action = AlertAction(action_id=uuid.uuid4().hex, alert_id=alert.alert_id, fingerprint=alert.fingerprint,
                             action=kind, by=operator.name, at=datetime.now(UTC), note=note[:500])
    except ValueError:
        raise web.HTTPBadRequest(text="a comment needs a note; a note has at most 500 characters") from None
    try:
        await c.publish(action)
    except Exception as exc:
        c.audit.record(operator.name, kind, target=alert.alert_id, outcome="not sent", reason=type(exc).__name__)
        raise web.HTTPServiceUnavailable(text="the broker did not confirm the action; try again") from None
    c.audit.record(operator.name, kind, target=alert.alert_id, action_id=action.action_id)
    return web.json_response({"action_id": action.action_id, "from_revision": alert.revision}, status=202)


# shift hand-over

@authed
async def handover(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    raw = request.query.get("since", "")
    try:
        since = Filters.parse({"since": raw}).since if raw else None
    except FilterError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    per: dict[str, dict[str, int]] = {}
    for a in c.board.view(operator):
        changed = a.updated_at or a.detected_at
        if since is not None and changed < since and a.status == "resolved":
            continue
        g = per.setdefault(a.place.large_grid, {"open": 0, "acknowledged": 0, "resolved": 0})
        g[a.status] += 1
    rows = [(g, n["open"], n["acknowledged"], n["open"] + n["acknowledged"], n["resolved"])
            for g, n in sorted(per.items())]
    value = since.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M") if since else ""
    body = (f'<h2>交接班 <small>Shift hand-over</small></h2><form method="get"><label>自 Since (UTC+8) '
            f'<input type="datetime-local" name="since" value="{pages.esc(value)}"></label>'
            '<button>查看 Show</button></form>'
            + pages.table(["大网格 Grid", "未处理 Open", "已确认 Acknowledged", "未解决 Unresolved",
                           "此后已解决 Resolved since"], rows, ident="handover"))
    return _html(pages.page("交接班 Hand-over", body, operator=operator, csrf=session.csrf))


# tracing and roll call

def _need_store(c: Console) -> Queries:
    if c.queries is None:
        raise web.HTTPServiceUnavailable(text="no ClickHouse store is configured for this console")
    return c.queries


def _trace_form(csrf: str, error: str = "") -> str:
    msg = f'<p class="error" role="alert">{pages.esc(error)}</p>' if error else ""
    return (f'<h2>流调 <small>Tracing a person</small></h2>{msg}<form method="post" action="/trace" class="trace">'
            f'<input type="hidden" name="csrf" value="{pages.esc(csrf)}">'
            '<label>身份证号 ID number <input name="id_number" autocomplete="off" required maxlength="18"></label>'
            '<label>截至 Until (UTC+8) <input type="datetime-local" name="until"></label>'
            '<label>天数 Days <input type="number" name="days" value="14" min="1" max="60"></label>'
            '<label>前后分钟 ± minutes <input type="number" name="minutes" value="15" min="1" max="240"></label>'
            '<button>查询 Trace</button></form><p class="note">证件号只在服务器上转换为化名，不保存、不记录。 The ID '
            'number is turned into the person key on the server; it is never stored or logged.</p>')


@authed
async def trace_page(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    if operator.role != "command":
        raise web.HTTPForbidden(text="tracing is for the command post")
    return _html(pages.page("流调 Tracing", _trace_form(session.csrf), operator=operator, csrf=session.csrf))


@authed
async def trace(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    if operator.role != "command":
        raise web.HTTPForbidden(text="tracing is for the command post")
    queries = _need_store(c)
    form = await request.post()
    id_number = str(form.get("id_number", "")).strip().upper()
    if len(id_number) != 18 or problems(id_number, at=datetime.now(CHINA).date()):
        return _html(pages.page("流调 Tracing", _trace_form(session.csrf, "不是有效的身份证号 Not a valid ID number"),
                                operator=operator, csrf=session.csrf), status=400)
    try:
        until_raw = str(form.get("until", ""))
        until = Filters.parse({"until": until_raw}).until if until_raw else datetime.now(UTC)
        days, minutes = int(str(form.get("days", "14"))), int(str(form.get("minutes", "15")))
    except (FilterError, ValueError):
        raise web.HTTPBadRequest(text="until, days and minutes: a time and two whole numbers") from None
    keys = c.person_keys.every_key(id_number)
    key = keys[0]
    del id_number
    if until is None:
        raise web.HTTPBadRequest(text="until: a date and time")
    result = await asyncio.to_thread(queries.trace, keys, until=until, days=max(1, min(days, 60)),
                                     minutes=max(1, min(minutes, 240)))
    c.audit.record(operator.name, "trace", target=key, days=days, minutes=minutes,
                   sightings=len(result.sightings), contacts=len(result.contacts))
    body = (_trace_form(session.csrf)
            + f'<h3>行程 Sightings {pages.esc(result.since)} – {pages.esc(result.until)}</h3>'
            + pages.table(["时间 Time", "类型 Type", "卡点 Checkpoint", "小区 Compound", "网格 Grid", "方向 Way",
                           "体温 °C", "健康码 Code"],
                          [(s.at, s.event_type, c.places.checkpoint_name(s.checkpoint_id),
                            c.places.compound_name(s.compound_id), f"{s.large_grid} / {s.small_grid}", s.direction,
                            s.temperature_c, s.health_code) for s in result.sightings], ident="sightings")
            + f'<h3>同时段同卡点人员 Contacts (same checkpoint ±{result.minutes} min)</h3>'
            + pages.table(["对象 Subject", "次数 Times", "首次 First", "卡点 Checkpoints"],
                          [(x.subject_masked, x.times_together, x.first_at,
                            ", ".join(c.places.checkpoint_name(p) for p in x.checkpoints)) for x in result.contacts],
                          ident="contacts"))
    return _html(pages.page("流调 Tracing", body, operator=operator, csrf=session.csrf))


@authed
async def inside(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c = _console(request)
    compound = request.query.get("compound", "")
    options = "".join(f'<option value="{pages.esc(k)}"{" selected" if k == compound else ""}>{pages.esc(v.name)} '
                      f'({pages.esc(k)})</option>' for k, v in sorted(c.places.compounds.items())
                      if operator.sees(v.large_grid))
    body = ('<h2>在场人员 <small>Who is inside (roll call)</small></h2><form method="get"><label>小区 Compound '
            f'<select name="compound">{options}</select></label><button>点名 Roll call</button></form>')
    if compound:
        place = c.places.compounds.get(compound)
        grid = place.large_grid if place else await asyncio.to_thread(_need_store(c).compound_grid, compound)
        if grid is None or not operator.sees(grid):
            raise web.HTTPNotFound(text="no such compound")
        people = await asyncio.to_thread(_need_store(c).inside, compound, until=datetime.now(UTC))
        c.audit.record(operator.name, "roll_call", target=compound, persons=len(people))
        body += (f"<p>{len(people)} 人在内 inside</p>"
                 + pages.table(["对象 Subject", "进入 Entered (UTC+8)", "卡点 Checkpoint"],
                               [(p.subject_masked, p.entered_at, c.places.checkpoint_name(p.checkpoint_id))
                                for p in people], ident="inside"))
    return _html(pages.page("在场人员 Roll call", body, operator=operator, csrf=session.csrf))


# the day's report

def _day(request: web.Request) -> date:
    raw = request.query.get("day", "")
    try:
        return date.fromisoformat(raw) if raw else datetime.now(CHINA).date()
    except ValueError:
        raise web.HTTPBadRequest(text="day: YYYY-MM-DD") from None


async def _day_report(request: web.Request, operator: Operator, what: str) -> tuple[Console, date, DayReport]:
    """The day the page asks for, its report from the store, and the audit line saying who read it."""
    c = _console(request)
    day = _day(request)
    r = await asyncio.to_thread(_need_store(c).report, day)
    c.audit.record(operator.name, what, target=day.isoformat())
    return c, day, r


@authed
async def report(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c, day, r = await _day_report(request, operator, "report")
    labels = {"events": "事件 events", "large_grids_active": "有记录的大网格 large grids with events",
              "small_grids_active": "有记录的小网格 small grids with events",
              "checkpoints_active": "有记录的卡点 checkpoints with events", "persons_seen": "出现人数 persons seen",
              "residents_seen": "其中登记住户 of them registered",
              "residents_verified": "其中实名认证 real-name verified",
              "verified_share_pct": "实名认证比例 % verified", "under_quarantine_seen": "居家隔离人员 under quarantine",
              "temperatures_taken": "测温次数 temperatures taken"}
    origin = {"hubei": "湖北 Hubei", "other_provinces": "外省 other provinces", "zhejiang": "省内 Zhejiang"}
    reg = c.census.figures(day)
    grids = c.places.large_grids()
    register = [("村社 villages and communities", len(grids)),
                ("大网格 large grids", sum(len(g) for g in grids.values())),
                ("小网格 small grids", len(c.places.small_grids())), ("小区 compounds", len(c.places.compounds)),
                ("卡点 checkpoints", len(c.places.checkpoints)), ("登记住户 residents registered", reg.residents),
                ("实名认证 real-name verified", reg.verified), ("实名认证比例 % verified", reg.verified_share_pct),
                ("租户 renters", reg.renters), ("居家隔离令 quarantine orders in force", reg.quarantine_orders_active)]
    body = (f'<h2>日报 <small>The day\'s report</small> {day.isoformat()}</h2><form method="get"><label>日期 Day '
            f'<input type="date" name="day" value="{day.isoformat()}"></label><button>查看 Show</button> '
            f'<a href="/report.csv?day={day.isoformat()}">下载 CSV</a></form>'
            + "<h3>登记 Registers (as held now)</h3>"
            + pages.table(["指标 Figure", "数值 Value"], register, ident="registers")
            + "<h3>当日事件 The day's events</h3>"
            + pages.table(["指标 Figure", "数值 Value"], [(labels.get(k, k), v) for k, v in r.figures.items()],
                          ident="figures")
            + "<h3>返回人员来源 Returnees by declared origin</h3>"
            + pages.table(["来源 Origin", "人数 Persons"], [(origin.get(k, k), v) for k, v in r.returnees.items()],
                          ident="returnees")
            + "<h3>按规则 Alerts per rule</h3>"
            + pages.table(["规则 Rule", "告警 Alerts"],
                          [(f"{c.rules[k].name_zh} {k}" if k in c.rules else k, n) for k, n in r.alerts_by_rule],
                          ident="by-rule")
            + "<h3>按网格 Alerts per large grid</h3>"
            + pages.table(["大网格 Grid", "告警 Alerts"], r.alerts_by_grid, ident="by-grid")
            + "<h3>卡点每小时事件 Events per checkpoint and hour</h3>"
            + pages.table(["卡点 Checkpoint", "时 Hour", "事件 Events"],
                          [(c.places.checkpoint_name(cp), f"{h:02d}:00", n)
                           for cp, h, n in r.events_by_checkpoint_hour],
                          ident="by-hour"))
    return _html(pages.page("日报 Report", body, operator=operator, csrf=session.csrf))


@authed
async def report_csv(request: web.Request, session: Session, operator: Operator) -> web.StreamResponse:
    c, day, r = await _day_report(request, operator, "report_csv")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "value"])
    reg = c.census.figures(day)
    w.writerows([("registers", k, str(v)) for k, v in vars(reg).items()])
    w.writerows(r.csv_rows())
    return web.Response(body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="report-{day.isoformat()}.csv"'})


def build_app(console: Console) -> web.Application:
    app = web.Application()
    app[CONSOLE] = console
    app.add_routes([
        web.get("/login", login_page), web.post("/login", login), web.post("/logout", logout),
        web.get("/", index), web.get("/stream", stream), web.get("/alerts.csv", alerts_csv),
        web.get("/alerts/{alert_id}", alert_page), web.get("/api/alerts/{alert_id}", alert_json),
        web.post("/alerts/{alert_id}/action", act), web.get("/handover", handover),
        web.get("/trace", trace_page), web.post("/trace", trace), web.get("/inside", inside),
        web.get("/report", report), web.get("/report.csv", report_csv),
        web.static("/static", STATIC),
    ])
    return app
