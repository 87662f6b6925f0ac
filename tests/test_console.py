"""The console's logic without a browser: the board, accounts, sessions, the routes' rules, and its queries.

The routes run in a real aiohttp server (aiohttp's test server) over a real
board; only the Kafka producer is replaced, by a list the test reads (the
browser tests in ``test_console_browser.py`` go through the real broker).
The queries run on a real embedded ClickHouse.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from schemas import Alert, AlertAction, Place, Severity
from sinks import ClickHouseSink
from streams.console.audit import AuditTrail
from streams.console.board import CHINA, AlertBoard, FilterError, Filters, local_time, sort_key
from streams.console.operators import Operator, OperatorBook, OperatorError, hash_password, verify_password
from streams.console.places import Places
from streams.console.queries import Queries
from streams.console.session import COOKIE, SessionSigner
from streams.console.web import Console, RuleText, build_app
from streams.privacy import PersonKeys
from tests.factories import enriched_event

T0 = datetime(2020, 2, 8, 21, 58, tzinfo=CHINA)
LG01 = Place(checkpoint_id="kp01", compound_id="co-01", community_code="c1", large_grid="lg01", small_grid="lg01-s1")
LG02 = Place(checkpoint_id="kp09", compound_id="co-09", community_code="c1", large_grid="lg02", small_grid="lg02-s2")
COMMAND = Operator("cp-01", "command")
GRID1 = Operator("gs-lg01", "grid", "lg01")


def alert(alert_id: str, *, revision: int = 1, severity: Severity = Severity.WARNING, status: str = "open",
          place: Place = LG01, minutes: float = 0, rule_id: str = "fever", **kw: Any) -> Alert:
    at = T0 + timedelta(minutes=minutes)
    return Alert(alert_id=alert_id, rule_id=rule_id, rule_version=1, severity=severity, event_time=at,
                 detected_at=at, updated_at=at + timedelta(seconds=revision), place=place,
                 subject_masked="330822********1234", event_ids=(f"e-{alert_id}",), summary_zh="体温异常",
                 summary_en="Fever", fingerprint=f"fp-{alert_id}", status=status, revision=revision, **kw)


# --- the board ------------------------------------------------------------------------------------------

def test_a_revision_replaces_the_one_held_only_if_newer_whatever_the_order_they_arrive_in() -> None:
    board = AlertBoard()
    assert board.apply(alert("a", revision=2, count=2)) is not None
    assert board.apply(alert("a", revision=1)) is None  # late, older: the list keeps revision 2
    assert board.apply(alert("a", revision=2, count=2)) is None  # the same again (a replay)
    held = board.get("a", COMMAND)
    assert held is not None and held.revision == 2
    assert [r.revision for r in board.history("a")] == [1, 2]
    assert len(board) == 1


def test_worst_first_open_before_acknowledged_before_resolved_then_severity_then_latest_change() -> None:
    board = AlertBoard()
    for a in (alert("resolved-critical", severity=Severity.CRITICAL, status="resolved"),
              alert("ack-critical", severity=Severity.CRITICAL, status="acknowledged"),
              alert("open-warning-old", minutes=0), alert("open-warning-new", minutes=5),
              alert("open-high", severity=Severity.HIGH)):
        board.apply(a)
    assert [a.alert_id for a in board.view(COMMAND)] == [
        "open-high", "open-warning-new", "open-warning-old", "ack-critical", "resolved-critical"]


def test_grid_staff_see_only_their_large_grid_and_another_grid_s_alert_does_not_exist_for_them() -> None:
    board = AlertBoard()
    board.apply(alert("mine", place=LG01))
    board.apply(alert("theirs", place=LG02, severity=Severity.CRITICAL))
    assert [a.alert_id for a in board.view(GRID1)] == ["mine"]
    assert board.get("theirs", GRID1) is None and board.get("theirs", COMMAND) is not None
    assert [g.large_grid for g in board.grids(GRID1, ["lg01", "lg02"])] == ["lg01"]


def test_the_map_colours_a_grid_by_its_worst_alert_not_yet_resolved() -> None:
    board = AlertBoard()
    board.apply(alert("w", place=LG01))
    board.apply(alert("c-resolved", place=LG01, severity=Severity.CRITICAL, status="resolved"))
    board.apply(alert("h", place=LG01, severity=Severity.HIGH, status="acknowledged"))
    states = {g.large_grid: g for g in board.grids(COMMAND, ["lg01", "lg02"])}
    assert (states["lg01"].unresolved, states["lg01"].worst) == (2, "high")
    assert (states["lg02"].unresolved, states["lg02"].worst) == (0, "")


def test_filters_from_the_url_narrow_by_grid_rule_severity_status_time_and_text() -> None:
    a = alert("a", place=LG02, rule_id="health_code", severity=Severity.CRITICAL, minutes=10)
    assert Filters.parse({"large_grid": "lg02", "small_grid": "lg02-s2", "rule": "health_code",
                          "severity": "critical", "status": "open"}).matches(a)
    assert not Filters.parse({"large_grid": "lg01"}).matches(a)
    assert not Filters.parse({"severity": "high"}).matches(a)
    assert Filters.parse({"since": "2020-02-08T22:00"}).matches(a)  # local time, UTC+8: 22:08 is after 22:00
    assert not Filters.parse({"since": "2020-02-08T22:10"}).matches(a)
    assert not Filters.parse({"until": "2020-02-08T22:00"}).matches(a)
    assert Filters.parse({"q": "KP09"}).matches(a) and not Filters.parse({"q": "kp01"}).matches(a)
    with pytest.raises(FilterError, match="severity"):
        Filters.parse({"severity": "urgent"})
    with pytest.raises(FilterError, match="since"):
        Filters.parse({"since": "yesterday"})


def test_times_are_shown_in_beijing_time_with_the_zone_written() -> None:
    assert local_time(datetime(2020, 2, 8, 13, 58, tzinfo=UTC)) == "2020-02-08 21:58:00 UTC+8"
    assert sort_key(alert("x"))[0] == 0


# --- accounts and sessions ------------------------------------------------------------------------------

def test_passwords_are_stored_as_salted_scrypt_hashes_and_checked_against_them(tmp_path: Path) -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert stored != hash_password("correct horse")  # a salt per hash
    assert verify_password("correct horse", stored) and not verify_password("correct hors", stored)
    book = OperatorBook(tmp_path / "ops.json")
    book.add("cp-01", "correct horse", "command")
    assert "correct horse" not in (tmp_path / "ops.json").read_text()
    assert (tmp_path / "ops.json").stat().st_mode & 0o077 == 0
    assert book.authenticate("cp-01", "correct horse") == book.get("cp-01")
    assert book.authenticate("cp-01", "wrong password") is None
    assert book.authenticate("nobody", "correct horse") is None


@pytest.mark.parametrize(("name", "password", "role", "grid", "why"), [
    ("张三", "long enough", "command", "", None),  # \w takes CJK: allowed, though ids are the custom
    ("cp 01", "long enough", "command", "", "operator name"),
    ("gs-1", "long enough", "grid", "", "large grid"),
    ("cp-2", "long enough", "command", "lg01", "every grid"),
    ("cp-3", "short", "command", "", "at least"),
])
def test_an_account_that_cannot_work_is_refused_with_the_reason(tmp_path: Path, name: str, password: str,
                                                                  role: Any, grid: str, why: str | None) -> None:
    book = OperatorBook(tmp_path / "ops.json")
    if why is None:
        assert book.add(name, password, role, grid).name == name
        return
    with pytest.raises(OperatorError, match=why):
        book.add(name, password, role, grid)


def test_a_session_cookie_cannot_be_altered_reused_past_its_age_or_passed_off_as_another_token() -> None:
    signer = SessionSigner(b"0123456789abcdef-secret", max_age_s=3600)
    cookie = signer.issue("cp-01", now=1_000)
    session = signer.read(cookie, now=1_100)
    assert session is not None and session.name == "cp-01"
    assert signer.read(cookie.replace("cp-01", "cp-02"), now=1_100) is None
    assert signer.read(cookie[:-1] + ("0" if cookie[-1] != "0" else "1"), now=1_100) is None
    assert signer.read(cookie, now=1_000 + 3601) is None
    assert signer.read(signer.issue("cp-01", now=1_000, purpose="login"), now=1_100) is None
    assert SessionSigner(b"another-secret-0123", max_age_s=3600).read(cookie, now=1_100) is None
    assert signer.csrf_ok(session, session.csrf) and not signer.csrf_ok(session, "") and \
        not signer.csrf_ok(session, signer.read(signer.issue("cp-01", now=1_000), now=1_100).csrf)  # type: ignore[union-attr]


# --- the routes -----------------------------------------------------------------------------------------

class Harness:
    """The console's app over a real board, with actions collected instead of sent to Kafka."""

    def __init__(self, tmp_path: Path, queries: Queries | None = None) -> None:
        self.sent: list[AlertAction] = []
        book = OperatorBook(tmp_path / "operators.json")
        book.add("cp-01", "command-pass", "command")
        book.add("gs-lg01", "grid-staff-pass", "grid", "lg01")

        async def publish(action: AlertAction) -> None:
            self.sent.append(action)

        self.audit = AuditTrail(tmp_path / "audit.jsonl")
        self.console = Console(
            board=AlertBoard(), places=Places(), operators=book,
            signer=SessionSigner(b"test-secret-0123456789", max_age_s=3600), audit=self.audit,
            rules={"fever": RuleText("测温", "Fever", "体温异常", "A fever")},
            person_keys=PersonKeys(secret=b"k"), publish=publish, queries=queries)
        self.console.take(alert("mine", place=LG01))
        self.console.take(alert("theirs", place=LG02, severity=Severity.CRITICAL))

    def run(self, body: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
        async def main() -> None:
            async with TestClient(TestServer(build_app(self.console))) as client:
                await body(client)
        asyncio.run(main())


async def log_in(client: TestClient[Any, Any], name: str, password: str) -> str:
    """Logs in; the CSRF token of the session (from a page's meta tag)."""
    page = await (await client.get("/login")).text()
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    resp = await client.post("/login", data={"name": name, "password": password, "token": token.group(1)},
                             allow_redirects=False)
    assert resp.status == 302, await resp.text()
    home = await (await client.get("/")).text()
    csrf = re.search(r'<meta name="csrf" content="([0-9a-f]+)">', home)
    assert csrf is not None
    return csrf.group(1)


async def first_snapshot(client: TestClient[Any, Any], query: str = "") -> dict[str, Any]:
    resp = await client.get(f"/stream{query}")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    buffer = ""
    while "event: snapshot" not in buffer or not buffer.rstrip(" ").endswith("\n\n"):
        buffer += (await resp.content.readline()).decode()
    resp.close()
    data = buffer.split("event: snapshot\ndata: ", 1)[1].split("\n", 1)[0]
    return json.loads(data)  # type: ignore[no-any-return]


def test_without_a_session_pages_send_to_the_login_and_the_stream_and_actions_are_refused(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        resp = await client.get("/", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == "/login"
        assert (await client.get("/stream")).status == 401
        assert (await client.post("/alerts/mine/action", data={"action": "acknowledge"})).status == 401
        client.session.cookie_jar.update_cookies({COOKIE: "cp-01.1.abc.forged"})
        assert (await client.get("/stream")).status == 401

    h.run(body)
    assert h.sent == []


def test_a_wrong_password_is_refused_and_audited_without_naming_an_account_that_does_not_exist(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        page = await (await client.get("/login")).text()
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        for name in ("cp-01", "330822198001011234"):
            resp = await client.post("/login", data={"name": name, "password": "guess", "token": token.group(1)},
                                     allow_redirects=False)
            assert resp.status == 401
        assert (await client.get("/", allow_redirects=False)).status == 302

    h.run(body)
    trail = h.audit.read()
    assert [(t["operator"], t["what"], t["outcome"]) for t in trail] == [
        ("cp-01", "login", "refused"), ("(unknown account)", "login", "refused")]
    assert "330822198001011234" not in (tmp_path / "audit.jsonl").read_text()


def test_the_stream_opens_with_a_snapshot_of_what_the_operator_may_see_narrowed_by_the_url_filters(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        await log_in(client, "cp-01", "command-pass")
        everything = await first_snapshot(client)
        assert [r["alert_id"] for r in everything["rows"]] == ["theirs", "mine"]  # critical first
        assert everything["heartbeat"]["alerts"] == 2
        only_lg01 = await first_snapshot(client, "?large_grid=lg01")
        assert [r["alert_id"] for r in only_lg01["rows"]] == ["mine"]
        assert (await client.get("/stream?severity=urgent")).status == 400

    h.run(body)


def test_grid_staff_cannot_see_or_act_on_another_grid_s_alert_and_the_actor_is_the_session_s_operator(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        csrf = await log_in(client, "gs-lg01", "grid-staff-pass")
        assert [r["alert_id"] for r in (await first_snapshot(client))["rows"]] == ["mine"]
        assert (await client.get("/alerts/theirs")).status == 404
        refused = await client.post("/alerts/theirs/action", data={"action": "acknowledge", "csrf": csrf})
        assert refused.status == 404
        ok = await client.post("/alerts/mine/action", data={"action": "acknowledge", "by": "cp-01", "csrf": csrf})
        assert ok.status == 202
        assert (await client.get("/trace")).status == 403  # tracing is the command post's

    h.run(body)
    assert [(a.alert_id, a.action, a.by, a.fingerprint) for a in h.sent] == [
        ("mine", "acknowledge", "gs-lg01", "fp-mine")]
    assert [(t["operator"], t["what"], t["target"]) for t in h.audit.read() if t["what"] != "login"] == [
        ("gs-lg01", "acknowledge", "mine")]


def test_an_action_without_its_csrf_token_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        csrf = await log_in(client, "cp-01", "command-pass")
        assert (await client.post("/alerts/mine/action", data={"action": "resolve"})).status == 403
        assert (await client.post("/alerts/mine/action", data={"action": "resolve", "csrf": "0" * 64})).status == 403
        assert (await client.post("/logout", data={})).status == 403
        comment = await client.post("/alerts/mine/action", data={"action": "comment", "note": "", "csrf": csrf})
        assert comment.status == 400  # a comment needs a note
        sent = await client.post("/alerts/mine/action", headers={"X-CSRF-Token": csrf},
                                 data={"action": "comment", "note": "复测 36.8"})
        assert sent.status == 202

    h.run(body)
    assert [(a.action, a.note) for a in h.sent] == [("comment", "复测 36.8")]


def test_an_action_shows_on_the_page_only_when_its_revision_comes_back_from_the_pipeline(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(client: TestClient[Any, Any]) -> None:
        csrf = await log_in(client, "cp-01", "command-pass")
        resp = await client.post("/alerts/mine/action", data={"action": "acknowledge", "csrf": csrf})
        assert (await resp.json())["from_revision"] == 1
        assert (await (await client.get("/api/alerts/mine")).json())["status"] == "open"  # not before
        came_back = alert("mine", revision=2, status="acknowledged", acknowledged_by="cp-01",
                          change="acknowledged", updated_by="cp-01")
        h.console.take(came_back)
        shown = await (await client.get("/api/alerts/mine")).json()
        assert (shown["status"], shown["revision"]) == ("acknowledged", 2)
        page = await (await client.get("/alerts/mine")).text()
        assert "cp-01" in page and "acknowledged" in page

    h.run(body)


def test_a_trace_takes_the_id_number_in_the_body_and_keeps_it_out_of_the_audit_trail(tmp_path: Path) -> None:
    class FakeQueries:
        def __init__(self) -> None:
            self.keys: list[tuple[str, ...]] = []

        def trace(self, keys: tuple[str, ...], **_: Any) -> Any:
            self.keys.append(keys)
            from streams.console.queries import Trace
            return Trace("a", "b", 15, [], [])

    fake = FakeQueries()
    h = Harness(tmp_path, queries=fake)  # type: ignore[arg-type]
    person = "11010519491231002X"

    async def body(client: TestClient[Any, Any]) -> None:
        csrf = await log_in(client, "cp-01", "command-pass")
        bad = await client.post("/trace", data={"id_number": "123", "csrf": csrf})
        assert bad.status == 400
        ok = await client.post("/trace", data={"id_number": person, "csrf": csrf, "days": "14", "minutes": "15"})
        assert ok.status == 200 and person not in await ok.text()

    h.run(body)
    assert fake.keys == [(PersonKeys(secret=b"k").key(person),)]
    trail = (tmp_path / "audit.jsonl").read_text()
    assert person not in trail and fake.keys[0][0] in trail


# --- the queries, on a real embedded ClickHouse ----------------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> Any:
    sink = ClickHouseSink(dsn=f"chdb://{tmp_path / 'ch'}")
    sink.setup()
    yield sink
    sink.close()


def test_tracing_finds_who_was_at_the_same_checkpoint_within_the_window_and_not_outside_it_over_a_rotation(
        store: Any) -> None:
    def seen(event_id: str, key: str, minutes: float, **kw: Any) -> Any:
        return enriched_event(event_id, subject_key=key, subject_masked=f"masked-{key}",
                              event_time=T0 + timedelta(minutes=minutes), **kw)

    store.insert_events([
        seen("a1", "pk-a", 0), seen("a2", "pk-a", 300, direction="out"),
        seen("b1", "pk-b", 10), seen("b2", "pk-b", 305),  # with A twice
        seen("c1", "pk-c", 60),  # same checkpoint, 60 min later: not a contact at ±15
        seen("d1", "pk-d", 2, place=LG02),  # another checkpoint at the same time
        seen("a3", "k1.a", 120), seen("e1", "pk-e", 125),  # A under the secret before a rotation, and a contact
    ])
    queries = Queries(store, "gridwatch")
    trace = queries.trace(("pk-a", "k1.a"), until=T0 + timedelta(days=1), days=14, minutes=15)
    assert [s.at for s in trace.sightings] == ["2020-02-08 21:58:00 UTC+8", "2020-02-08 23:58:00 UTC+8",
                                               "2020-02-09 02:58:00 UTC+8"]
    assert [(c.subject_masked, c.times_together) for c in trace.contacts] == [("masked-pk-b", 2), ("masked-pk-e", 1)]
    assert [c.subject_masked for c in queries.trace(("pk-a",), until=T0 + timedelta(days=1), days=14,
                                                    minutes=15).contacts] == ["masked-pk-b"]
    assert Queries(store, "gridwatch").trace(("pk-a",), until=T0 - timedelta(minutes=1), days=1,
                                             minutes=15).sightings == []


def test_the_roll_call_lists_everyone_whose_last_passage_through_the_compound_went_in(store: Any) -> None:
    def passage(event_id: str, key: str, minutes: float, direction: str) -> Any:
        return enriched_event(event_id, subject_key=key, subject_masked=f"masked-{key}", direction=direction,
                              event_time=T0 + timedelta(minutes=minutes))

    store.insert_events([passage("1", "pk-in", 0, "in"), passage("2", "pk-left", 0, "in"),
                         passage("3", "pk-left", 30, "out"), passage("4", "pk-back", 0, "out"),
                         passage("5", "pk-back", 40, "in")])
    compound = enriched_event("x").place.compound_id
    inside = Queries(store, "gridwatch").inside(compound, until=T0 + timedelta(hours=1))
    assert [p.subject_masked for p in inside] == ["masked-pk-in", "masked-pk-back"]
    assert [p.subject_masked for p in Queries(store, "gridwatch").inside(compound, until=T0 + timedelta(minutes=20))
            ] == ["masked-pk-in", "masked-pk-left"]


def test_the_day_s_report_counts_persons_returnees_alerts_and_events_per_checkpoint_hour(store: Any) -> None:
    store.insert_events([
        enriched_event("r1", subject_key="pk-1", resident_known=True, resident_verified=True, temperature_c=36.5,
                       event_time=T0),
        enriched_event("r2", subject_key="pk-2", resident_known=True, declared_origin="420100",
                       event_time=T0 + timedelta(minutes=1)),
        enriched_event("r3", subject_key="pk-3", declared_origin="110100", event_time=T0 + timedelta(minutes=70)),
        enriched_event("r4", subject_key="pk-1", event_time=T0 + timedelta(days=1)),  # the next day
    ])
    store.insert_alerts([alert("a1", place=enriched_event("x").place), alert("a2", rule_id="health_code")])
    r = Queries(store, "gridwatch").report(date(2020, 2, 8))
    assert r.figures["events"] == 3 and r.figures["persons_seen"] == 3
    assert (r.figures["residents_seen"], r.figures["residents_verified"], r.figures["verified_share_pct"]) == (2, 1,
                                                                                                               50.0)
    assert r.figures["temperatures_taken"] == 1
    assert r.returnees == {"hubei": 1, "other_provinces": 1, "zhejiang": 0}
    assert sorted(r.alerts_by_rule) == [("fever", 1), ("health_code", 1)]
    cp = enriched_event("x").place.checkpoint_id
    assert r.events_by_checkpoint_hour == [(cp, 21, 2), (cp, 23, 1)]
    assert ("figure", "events", "3") in r.csv_rows()


def test_the_register_figures_count_residents_verified_and_orders_in_force_and_keep_no_personal_data() -> None:
    from schemas import QuarantineOrder, Resident
    from streams.console.census import Census
    from tests.factories import person_id

    census = Census()
    people = [Resident(id_number=person_id("330822", "19800101", i), name="住户", phone="13800000000",
                       dwelling_id=f"d{i}", compound_id="co-01", community_code="c1",
                       large_grid="lg01" if i < 3 else "lg02", small_grid="s", verified=i % 2 == 0,
                       residency="renter" if i == 0 else "resident") for i in range(4)]
    for i, r in enumerate(people):
        census.take_resident(f"pk-{i}".encode(), r.model_dump_json().encode())
    census.take_resident(b"pk-3", None)  # a tombstone: moved away
    census.take_resident(b"pk-9", b"{not a resident")
    order = QuarantineOrder(order_id="q1", id_number=people[1].id_number, starts_at=T0 - timedelta(days=3),
                            ends_at=T0 + timedelta(hours=1))
    census.take_order(b"pk-1", order.model_dump_json().encode())
    day = census.figures(date(2020, 2, 8))
    assert (day.residents, day.verified, day.verified_share_pct, day.renters, day.quarantine_orders_active) == (
        3, 2, 66.7, 1, 1)
    assert census.figures(date(2020, 2, 10)).quarantine_orders_active == 0
    assert census.figures(date(2020, 2, 8), "lg02").residents == 0
    held = repr(vars(census))
    assert people[0].id_number not in held and "13800000000" not in held and "住户" not in held


def test_the_map_writes_each_grid_s_worst_severity_as_a_letter_and_a_count_not_by_colour_alone() -> None:
    from streams.console.board import GridState
    from streams.console.pages import grid_map

    svg = grid_map({"330822001001": ["lg01", "lg02"], "330822001002": ["lg03"]},
                   {"lg01": GridState("lg01", 3, "critical"), "lg02": GridState("lg02", 0, "")})
    assert svg.count("<rect") == 3
    assert 'class="sev-critical"' in svg and ">lg01 C·3<" in svg and "危急 critical" in svg
    assert 'href="?large_grid=lg03"' in svg and 'class="sev-none"' in svg


def test_what_an_alert_or_a_register_says_is_escaped_on_every_page() -> None:
    from streams.console.pages import alert_detail

    hostile = alert("x", note='"><img src=x onerror=alert(1)>', action="<script>alert(1)</script>")
    page = alert_detail(hostile, [hostile], Places(), rule_zh="测温", rule_en="Fever", description=("a", "b"),
                        events=[], csrf="t")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page


def test_places_name_compounds_and_checkpoints_and_forget_them_on_a_tombstone() -> None:
    from schemas import Checkpoint, Compound

    places = Places()
    places.take_compound(b"co-01", Compound(compound_id="co-01", name="东河小区", community_code="c1",
                                            large_grid="lg01", small_grid="lg01-s1").model_dump_json().encode())
    places.take_checkpoint(b"kp01", Checkpoint(checkpoint_id="kp01", name="东河北街50号卡点", compound_id="co-01",
                                               community_code="c1", large_grid="lg01", small_grid="lg01-s1",
                                               lat=28.9, lon=118.5).model_dump_json().encode())
    places.take_compound(b"co-02", b"not json")
    assert places.names("co-01", "kp01") == ("东河小区", "东河北街50号卡点")
    assert places.names("co-99", "") == ("co-99", "")
    assert places.large_grids() == {"c1": ["lg01"]}
    places.take_compound(b"co-01", None)
    assert places.compound_name("co-01") == "co-01"
