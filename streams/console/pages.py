"""The console's HTML: a shell per page, labels Chinese first and English second; no template engine.

Every value from an alert, a register or a query goes through ``esc``; the
live list itself is drawn by ``static/console.js`` from the stream's JSON.
Severity is always written out next to its colour, and red is kept for
critical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from schemas import Alert
from streams.console.board import CHANGE_ZH, CHINA, SEVERITY_ZH, STATUS_ZH, Filters, GridState, local_time
from streams.console.operators import Operator
from streams.console.places import Places


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, operator: Operator | None, csrf: str = "", script: str = "") -> str:
    who = ""
    if operator is not None:
        who = (f'<span class="who">{esc(operator.name)} · {esc(operator.scope)}</span>'
               f'<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" '
               f'value="{esc(csrf)}"><button>退出 Log out</button></form>')
    nav = ('<nav><a href="/">告警 Alerts</a><a href="/handover">交接班 Hand-over</a>'
           '<a href="/trace">流调 Tracing</a><a href="/inside">在场人员 Roll call</a>'
           '<a href="/report">日报 Report</a></nav>') if operator else ""
    js = f'<script src="/static/console.js"></script><script>{script}</script>' if script else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="csrf" content="{esc(csrf)}"><title>{esc(title)} · 天马街道 gridwatch</title>'
            f'<link rel="stylesheet" href="/static/console.css"></head><body>'
            f'<header><h1>天马街道卡点指挥 <small>Tianma Street command post</small></h1>{nav}{who}</header>'
            f'<main>{body}</main>{js}</body></html>')


def login(error: str = "", token: str = "") -> str:
    msg = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    return page("登录 Log in", f"""<section class="login"><h2>登录 <small>Log in</small></h2>{msg}
<form method="post" action="/login"><input type="hidden" name="token" value="{esc(token)}">
<label>账号 Operator <input name="name" autocomplete="username" required></label>
<label>密码 Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">登录 Log in</button></form></section>""", operator=None)


def _options(name: str, values: Iterable[tuple[str, str]], chosen: str) -> str:
    opts = ['<option value="">全部 all</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>' for v, label in values]
    return f'<select name="{name}" id="f-{name}">{"".join(opts)}</select>'


def grid_map(grids_by_community: Mapping[str, Sequence[str]], states: Mapping[str, GridState]) -> str:
    """An SVG schematic: one row per village or community, one cell per large grid, coloured by its worst
    alert not yet resolved (severity written in the cell's title and as a letter); a click filters."""
    cell_w, cell_h, label_w = 58, 34, 92
    rows = list(grids_by_community.items())
    width = label_w + cell_w * max((len(g) for _, g in rows), default=1) + 4
    height = cell_h * max(len(rows), 1) + 4
    parts = [f'<svg id="grid-map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="大网格示意图 Large grids by worst open alert">']
    for y, (community, grids) in enumerate(rows):
        parts.append(f'<text x="2" y="{y * cell_h + 21}" class="community">{esc(community[-6:])}</text>')
        for x, g in enumerate(grids):
            st = states.get(g)
            worst = st.worst if st else ""
            n = st.unresolved if st else 0
            title = f"{g}: {n} 未解决 unresolved" + (f", 最高 worst {SEVERITY_ZH[worst]} {worst}" if worst else "")
            letter = worst[:1].upper() if worst else ""
            parts.append(
                f'<a href="?large_grid={esc(g)}" data-grid="{esc(g)}" class="cell"><title>{esc(title)}</title>'
                f'<rect x="{label_w + x * cell_w}" y="{y * cell_h + 2}" width="{cell_w - 4}" height="{cell_h - 4}" '
                f'class="sev-{worst or "none"}"/><text x="{label_w + x * cell_w + 4}" y="{y * cell_h + 21}">'
                f'{esc(g)} {letter}{"·" + str(n) if n else ""}</text></a>')
    parts.append("</svg>")
    return "".join(parts)


def alert_list(filters: Filters, rules: Iterable[tuple[str, str]], places: Places, map_svg: str) -> str:
    f = filters
    grids = [(g, g) for gs in places.large_grids().values() for g in gs]
    smalls = [(g, g) for g in places.small_grids()]
    severities = [(s, f"{z} {s}") for s, z in SEVERITY_ZH.items()]
    statuses = [(s, f"{z} {s}") for s, z in STATUS_ZH.items()]
    since = f.since.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M") if f.since else ""
    until = f.until.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M") if f.until else ""
    return f"""<div class="bar"><span id="badge" class="badge connecting" role="status">连接中 connecting</span>
<span id="total"></span>
<label class="sound"><input type="checkbox" id="sound"> 危急告警提示音 Sound for critical</label>
<a id="csv" href="#">导出 CSV</a></div>
<form id="filters" method="get" action="/" class="filters">
<label>大网格 Large grid {_options("large_grid", grids, f.large_grid)}</label>
<label>小网格 Small grid {_options("small_grid", smalls, f.small_grid)}</label>
<label>规则 Rule {_options("rule", rules, f.rule)}</label>
<label>级别 Severity {_options("severity", severities, f.severity)}</label>
<label>状态 Status {_options("status", statuses, f.status)}</label>
<label>自 From <input type="datetime-local" name="since" value="{esc(since)}"></label>
<label>至 To <input type="datetime-local" name="until" value="{esc(until)}"></label>
<label>搜索 Search <input name="q" value="{esc(f.q)}" placeholder="卡点、小区、证件尾号…"></label>
<button type="submit">筛选 Filter</button> <a href="/">清除 Clear</a></form>
<div class="layout"><section class="map"><h2>网格 <small>Grids (UTC+8)</small></h2>{map_svg}
<table id="grid-counts" class="counts"><thead><tr><th>大网格 Grid</th><th>未解决 Unresolved</th></tr></thead>
<tbody></tbody></table></section>
<section class="list"><table id="alerts"><thead><tr><th>级别 Severity</th><th>状态 Status</th><th>规则 Rule</th>
<th>网格 Grid</th><th>小区 / 卡点 Compound / checkpoint</th><th>对象 Subject</th><th>次数 Count</th>
<th>时间 Time (UTC+8)</th><th>更新 Age</th></tr></thead><tbody></tbody></table>
<p id="empty" class="empty">暂无告警 No alerts</p></section></div>"""


def alert_detail(alert: Alert, history: Sequence[Alert], places: Places, *, rule_zh: str, rule_en: str,
                 description: tuple[str, str], events: Sequence[Mapping[str, Any]], csrf: str) -> str:
    p = alert.place
    rows = "".join(
        f'<tr><td>{r.revision}</td><td>{esc(CHANGE_ZH.get(r.change, r.change))} {esc(r.change)}</td>'
        f'<td>{esc(STATUS_ZH[r.status])} {esc(r.status)}</td><td>{r.count}</td><td>{esc(r.updated_by)}</td>'
        f'<td>{esc(local_time(r.updated_at or r.detected_at))}</td><td>{esc(r.note)}</td></tr>' for r in history)
    evs = "".join(
        f'<tr><td>{esc(e["event_id"])}</td><td>{esc(e["event_type"])}</td><td>{esc(local_time(e["event_time"]))}'
        f'</td><td>{esc(places.checkpoint_name(e["checkpoint_id"]))}</td><td>{esc(e["subject_masked"])}</td>'
        f'<td>{esc(e["direction"])}</td><td>{esc(e["temperature_c"])}</td><td>{esc(e["health_code"])}</td></tr>'
        for e in events) or '<tr><td colspan="8">尚未入库 not stored yet</td></tr>'
    acts = "" if alert.status == "resolved" else f"""<form id="act" class="act">
<input type="hidden" name="csrf" value="{esc(csrf)}">
<label>备注 Note <input name="note" maxlength="500"
placeholder="不要填写证件号、姓名、电话 no ID numbers, names, phones">
</label>
{"" if alert.status == "acknowledged" else '<button name="action" value="acknowledge">确认 Acknowledge</button>'}
<button name="action" value="comment">备注 Comment</button>
<button name="action" value="resolve">解决 Resolve</button></form>
<p id="act-status" role="status"></p>"""
    return f"""<article class="alert sev-{alert.severity.value}" data-alert="{esc(alert.alert_id)}"
data-revision="{alert.revision}">
<h2><span class="sev sev-{alert.severity.value}">{esc(SEVERITY_ZH[alert.severity])} {alert.severity.value}</span>
{esc(rule_zh)} <small>{esc(rule_en)}</small> · <span id="status">{esc(STATUS_ZH[alert.status])}
{esc(alert.status)}</span></h2>
<p class="summary">{esc(alert.summary_zh)}<br><small>{esc(alert.summary_en)}</small></p>
<dl><dt>大网格 / 小网格 Grids</dt><dd>{esc(p.large_grid)} / {esc(p.small_grid)}</dd>
<dt>小区 Compound</dt><dd>{esc(places.compound_name(p.compound_id))} ({esc(p.compound_id)})</dd>
<dt>卡点 Checkpoint</dt><dd>{esc(places.checkpoint_name(p.checkpoint_id))} ({esc(p.checkpoint_id)})</dd>
<dt>对象 Subject</dt><dd>{esc(alert.subject_masked)}</dd><dt>次数 Count</dt><dd>{alert.count}</dd>
<dt>首次 First event</dt><dd>{esc(local_time(alert.event_time))}</dd>
<dt>最近 Latest event</dt><dd>{esc(local_time(alert.last_event_time or alert.event_time))}</dd>
<dt>处置 Action</dt><dd>{esc(alert.action)}</dd></dl>
<details open><summary>规则说明 What the rule checks</summary><p>{esc(description[0])}</p>
<p><small>{esc(description[1])}</small></p></details>
{acts}
<h3>时间线 Timeline</h3><table id="timeline"><thead><tr><th>#</th><th>变化 Change</th><th>状态 Status</th>
<th>次数 Count</th><th>操作人 By</th><th>时间 When (UTC+8)</th><th>备注 Note</th></tr></thead><tbody>{rows}</tbody>
</table>
<h3>相关事件 Events (masked)</h3><table id="events"><thead><tr><th>事件 Event</th><th>类型 Type</th>
<th>时间 Time</th><th>卡点 Checkpoint</th><th>对象 Subject</th><th>方向 Way</th><th>体温 °C</th><th>健康码 Code</th>
</tr></thead><tbody>{evs}</tbody></table></article>"""


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, ident: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (f'<table{f" id={chr(34)}{ident}{chr(34)}" if ident else ""}><thead><tr>{head}</tr></thead>'
            f'<tbody>{body or f"<tr><td colspan={len(headers)}>无 none</td></tr>"}</tbody></table>')
