"""The console in a real browser: Debian's Chromium (Playwright) against the console inside a real worker.

Nothing is mocked: the broker is the project's own (tests/conftest.py), the
worker is ``gridwatch worker`` in a subprocess with ``console.in_worker``, so
the console reads the ``alerts`` topic and the embedded chDB the worker
writes. A test publishes events with kafka-python and looks at what the
page shows: rows arrive over the page's Server-Sent Events, an action goes
out on ``alert-actions`` and comes back as a revision on ``alerts``.

Waiting is always for a condition (Playwright's auto-waiting ``expect`` and
``wait_for_*``, a metric, a topic), with bounds generous enough for a busy
two-core machine; never a fixed sleep.

The screenshots (1366x768) land in docs/console/, overwritten on each run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from schemas import EventBatch
from streams.process import WorkerProcess
from streams.scrape import wait_for_metric
from streams.settings import Settings
from tests.bus import Bus
from tests.conftest import COMMAND_OPERATOR, CONSOLE_PASSWORD, GRID_OPERATOR, GRID_OPERATOR_GRID
from tests.factories import DINGYANG_CP, NIGHT, WENFENG_CP, passage, person_id
from tests.test_pipeline import DINGYANG_BATCH, EXPECTED, WENFENG_BATCH, start_with_master

pytestmark = pytest.mark.integration

WAIT_MS = 90_000  # a condition on a busy 2-core machine: the worker, chDB and Chromium share it
RESTART_MS = 240_000  # a worker stopped and started again (the console is inside it)
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "console"
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
OTHER_GRID = "LG07"  # Dingyang: not the grid staff's

expect.set_options(timeout=WAIT_MS)


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:]


@dataclass
class Street:
    """One worker with the console inside it, the test master data loaded, and the browser's sessions."""

    settings: Settings
    bus: Bus
    worker: WorkerProcess
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.settings.console.host}:{self.settings.console.port}"

    def log_in(self, operator: str, password: str = CONSOLE_PASSWORD) -> Page:
        """A fresh browser session logged in as ``operator``, on the live list with its badge live."""
        context = self.browser.new_context(base_url=self.url, viewport=VIEWPORT, locale="zh-CN")
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.page_errors.append(f"{operator}: {exc}"))
        page.goto("/")  # no session: sent to the login page
        expect(page).to_have_url(re.compile(r"/login$"))
        page.fill("input[name=name]", operator)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(self.url + "/")
        expect(page.locator("header .who")).to_contain_text(operator)
        expect(page.locator("#badge")).to_have_attribute("data-state", "live")
        return page

    def opened_alerts(self, n: int) -> dict[tuple[str, str, str], str]:
        """(rule, large grid, first event) → alert id, once ``n`` alerts have opened on the ``alerts`` topic."""
        def opened(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [a for a in rs if a["change"] == "opened"]

        revisions = self.bus.consume("alerts", until=lambda rs: len(opened(rs)) >= n, timeout=WAIT_MS / 1000)
        return {(a["rule_id"], a["place"]["large_grid"], a["event_ids"][0]): a["alert_id"] for a in opened(revisions)}


@pytest.fixture
def street(console_settings: Settings, chromium: Browser,
           worker_factory: Callable[[Settings], WorkerProcess]) -> Iterator[Street]:
    bus = Bus(console_settings)
    worker = worker_factory(console_settings)
    start_with_master(bus, worker)
    s = Street(console_settings, bus, worker, chromium)
    try:
        yield s
    finally:
        for c in s.contexts:
            c.close()
        bus.close()
    assert s.page_errors == [], s.page_errors  # a script error on any page fails the test


def shown_ids(page: Page) -> list[str]:
    """The alert ids of the list's rows, in the order shown (duplicates kept)."""
    ids: list[str] = page.locator("#alerts tbody tr").evaluate_all("rs => rs.map(r => r.dataset.alert)")
    return ids


def expect_rows(page: Page, ids: set[str]) -> None:
    """The list shows exactly these alerts, each once (waits for it)."""
    expect(page.locator("body")).to_have_attribute("data-rows", str(len(ids)))
    for alert_id in ids:
        expect(page.locator(f'#alerts tbody tr[data-alert="{alert_id}"]')).to_have_count(1)
    got = shown_ids(page)
    assert sorted(got) == sorted(ids), got


def screenshot(target: Page | Locator, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SCREENSHOTS / name))


def test_a_published_event_appears_in_the_live_list_without_a_reload(street: Street) -> None:
    page = street.log_in(COMMAND_OPERATOR)
    expect(page.locator("body")).to_have_attribute("data-rows", "0")
    expect(page.locator("#empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    street.bus.publish_batch(DINGYANG_BATCH)
    street.bus.publish_batch(WENFENG_BATCH)
    ids = street.opened_alerts(len(EXPECTED))
    assert set(ids) == EXPECTED
    expect_rows(page, set(ids.values()))
    assert page.evaluate("window.__sameDocument") is True

    # the fever was resolved by the re-measurement (revision 2): its row shows the latest revision, last
    fever = page.locator(f'#alerts tbody tr[data-alert="{ids["fever", "LG07", "e-fever"]}"]')
    expect(fever).to_have_attribute("data-revision", "2")
    expect(fever.locator("td.status")).to_contain_text("resolved")
    assert shown_ids(page)[-1] == ids["fever", "LG07", "e-fever"]  # open before resolved
    wall = page.locator(f'#alerts tbody tr[data-alert="{ids["perimeter_breach", "LG07", "e-wall"]}"]')
    expect(wall).to_contain_text("critical")
    expect(wall).to_contain_text("东河小区 / 东河北街50号卡点")  # names from the registers, not ids
    expect(page.locator("#total")).to_have_text(f"{len(EXPECTED)} 条 alerts")
    # the map: Dingyang's grid has its critical alerts unresolved, and the grid counts say how many
    # (the page was drawn before any alert: the map cells are redrawn from the stream, severity in words too)
    expect(page.locator('#grid-map [data-grid="LG07"] rect')).to_have_attribute("class", "sev-critical")
    expect(page.locator('#grid-map [data-grid="LG07"] text')).to_have_text("LG07 C·4")
    expect(page.locator('#grid-map [data-grid="LG07"] title')).to_have_text(
        "LG07: 4 未解决 unresolved, 最高 worst 危急 critical")
    expect(page.locator('#grid-map [data-grid="LG12"] rect')).to_have_attribute("class", "sev-high")
    expect(page.locator('#grid-map [data-grid="LG12"] text')).to_have_text("LG12 H·1")
    expect(page.locator("#grid-counts tbody tr")).to_have_text(["LG07 4 · critical", "LG12 1 · high"],
                                                              use_inner_text=True)

    screenshot(page, "list.png")
    screenshot(page.locator("#grid-map"), "map.png")


def test_the_grid_filter_in_the_url_shows_only_that_grids_alerts(street: Street) -> None:
    everything = street.log_in(COMMAND_OPERATOR)
    street.bus.publish_batch(DINGYANG_BATCH)
    street.bus.publish_batch(WENFENG_BATCH)
    ids = street.opened_alerts(len(EXPECTED))
    expect_rows(everything, set(ids.values()))  # the console has taken every alert

    wenfeng = everything.context.new_page()
    wenfeng.goto(f"/?large_grid={GRID_OPERATOR_GRID}")
    expect(wenfeng.locator("#badge")).to_have_attribute("data-state", "live")
    expect(wenfeng.locator("#f-large_grid")).to_have_value(GRID_OPERATOR_GRID)
    expect_rows(wenfeng, {a for (_, grid, _), a in ids.items() if grid == GRID_OPERATOR_GRID})
    dingyang = everything.context.new_page()
    dingyang.goto(f"/?large_grid={OTHER_GRID}")
    expect_rows(dingyang, {a for (_, grid, _), a in ids.items() if grid == OTHER_GRID})

    # live: a new alert of the other grid is not added to the filtered page, one of its own grid is
    newcomer = person_id("420106", "19930303", 311)
    street.bus.publish_batch(EventBatch(batch_id="b-dy-new", source=DINGYANG_CP.checkpoint_id, events=(
        passage("e-dy-new", id_number=newcomer, event_time=NIGHT - timedelta(hours=2)),)))
    [dy_new] = [a for k, a in street.opened_alerts(len(EXPECTED) + 1).items() if k[2] == "e-dy-new"]
    expect(everything.locator(f'#alerts tbody tr[data-alert="{dy_new}"]')).to_have_count(1)
    street.bus.publish_batch(EventBatch(batch_id="b-wf-new", source=WENFENG_CP.checkpoint_id, events=(
        passage("e-wf-new", checkpoint_id=WENFENG_CP.checkpoint_id, id_number=newcomer,
                event_time=NIGHT - timedelta(hours=2)),)))
    [wf_new] = [a for k, a in street.opened_alerts(len(EXPECTED) + 2).items() if k[2] == "e-wf-new"]
    # the console sends revisions in the order it takes them: once Wenfeng's new row is on the filtered page,
    # Dingyang's (taken before it) has been through that page too
    expect(wenfeng.locator(f'#alerts tbody tr[data-alert="{wf_new}"]')).to_have_count(1)
    assert dy_new not in shown_ids(wenfeng)
    for tr in wenfeng.locator("#alerts tbody tr").all():
        expect(tr.locator("td").nth(3)).to_contain_text(f"{GRID_OPERATOR_GRID} / ")
    expect(dingyang.locator(f'#alerts tbody tr[data-alert="{dy_new}"]')).to_have_count(1)
    assert wf_new not in shown_ids(dingyang)


def test_an_acknowledgement_from_the_alert_page_comes_back_as_a_new_revision(street: Street) -> None:
    street.bus.publish_batch(EventBatch(batch_id="b-ack", source=DINGYANG_CP.checkpoint_id, events=(
        passage("e-fever-ack", temperature_c=38.5),)))
    [alert] = street.opened_alerts(1).values()
    wait_for_metric(street.settings.metrics.port, "gridwatch_sink_rows_total", 1, timeout=WAIT_MS / 1000,
                    table="enriched_events")  # so the page lists the event from ClickHouse
    page = street.log_in(COMMAND_OPERATOR)
    row = page.locator(f'#alerts tbody tr[data-alert="{alert}"]')
    expect(row).to_have_count(1)
    row.locator("a").click()

    expect(page).to_have_url(f"{street.url}/alerts/{alert}")
    article = page.locator("article.alert")
    expect(article).to_have_attribute("data-revision", "1")
    expect(page.locator("#status")).to_contain_text("open")
    expect(page.locator("#events")).to_contain_text("e-fever-ack")  # the stored event, masked
    expect(page.locator("#events")).to_contain_text("38.5")
    page.fill("#act input[name=note]", "已电话联系 phoned, re-measuring")
    page.click("#act button[value=acknowledge]")

    # the page reloads itself when the alert book's revision 2 comes back on the alerts topic
    expect(article).to_have_attribute("data-revision", "2")
    expect(page.locator("#status")).to_contain_text("acknowledged")
    latest = page.locator("#timeline tbody tr").last
    expect(latest).to_contain_text("acknowledged")
    expect(latest).to_contain_text(COMMAND_OPERATOR)
    expect(latest).to_contain_text("phoned, re-measuring")
    expect(page.locator("#timeline tbody tr")).to_have_count(2)
    expect(page.locator("#act button[value=acknowledge]")).to_have_count(0)  # nothing left to acknowledge
    expect(page.locator("#act button[value=resolve]")).to_have_count(1)
    [action] = street.bus.consume("alert-actions", until=lambda rs: len(rs) >= 1, timeout=WAIT_MS / 1000)
    assert (action["alert_id"], action["action"], action["by"]) == (alert, "acknowledge", COMMAND_OPERATOR)

    screenshot(page, "alert.png")
    page.goto("/")  # and the list has the new revision
    expect(page.locator(f'#alerts tbody tr[data-alert="{alert}"]')).to_have_attribute("data-revision", "2")
    expect(page.locator(f'#alerts tbody tr[data-alert="{alert}"] td.status')).to_contain_text("acknowledged")


def test_grid_staff_neither_see_nor_act_on_another_grids_alert(street: Street) -> None:
    command = street.log_in(COMMAND_OPERATOR)
    street.bus.publish_batch(DINGYANG_BATCH)
    street.bus.publish_batch(WENFENG_BATCH)
    ids = street.opened_alerts(len(EXPECTED))
    expect_rows(command, set(ids.values()))  # the console has every alert before the grid staff look
    own = ids["origin_mismatch", GRID_OPERATOR_GRID, "e-returnee"]
    other = ids["perimeter_breach", OTHER_GRID, "e-wall"]

    staff = street.log_in(GRID_OPERATOR)
    expect(staff.locator("header .who")).to_contain_text(f"large grid {GRID_OPERATOR_GRID}")
    expect_rows(staff, {a for (_, grid, _), a in ids.items() if grid == GRID_OPERATOR_GRID})
    expect(staff.locator(f'#grid-map [data-grid="{GRID_OPERATOR_GRID}"]')).to_have_count(1)
    expect(staff.locator(f'#grid-map [data-grid="{OTHER_GRID}"]')).to_have_count(0)
    # asking for the other grid in the URL gives nothing either
    staff.goto(f"/?large_grid={OTHER_GRID}")
    expect(staff.locator("#badge")).to_have_attribute("data-state", "live")
    expect(staff.locator("body")).to_have_attribute("data-rows", "0")

    response = staff.goto(f"/alerts/{other}")
    assert response is not None and response.status == 404  # as if it did not exist
    expect(staff.locator("article.alert")).to_have_count(0)
    response = staff.goto(f"/alerts/{own}")
    assert response is not None and response.status == 200
    expect(staff.locator("article.alert")).to_have_attribute("data-alert", own)
    token = staff.locator("meta[name=csrf]").get_attribute("content")
    assert token

    refused = staff.request.post(f"/alerts/{other}/action", form={"action": "acknowledge"},
                                 headers={"X-CSRF-Token": token})
    assert refused.status == 404, refused.text()
    no_token = staff.request.post(f"/alerts/{own}/action", form={"action": "acknowledge"})
    assert no_token.status == 403, no_token.text()
    accepted = staff.request.post(f"/alerts/{own}/action", form={"action": "acknowledge"},
                                  headers={"X-CSRF-Token": token})  # the same request on their own grid's alert
    assert accepted.status == 202, accepted.text()
    # only the accepted action went out
    actions = street.bus.consume("alert-actions", until=lambda rs: len(rs) >= 1, timeout=WAIT_MS / 1000)
    assert [(a["alert_id"], a["action"], a["by"]) for a in actions] == [(own, "acknowledge", GRID_OPERATOR)]
    # ... and comes back: the staff's own alert acknowledged on their page, the other grid's untouched
    expect(staff.locator("#status")).to_contain_text("acknowledged")
    other_row = command.locator(f'#alerts tbody tr[data-alert="{other}"]')
    expect(command.locator(f'#alerts tbody tr[data-alert="{own}"]')).to_have_attribute("data-revision", "2")
    expect(other_row).to_have_attribute("data-revision", "1")
    expect(other_row.locator("td.status")).to_contain_text("open")


def test_after_a_worker_restart_the_badge_returns_to_live_with_the_same_alerts_once(street: Street) -> None:
    page = street.log_in(COMMAND_OPERATOR)
    street.bus.publish_batch(DINGYANG_BATCH)
    street.bus.publish_batch(WENFENG_BATCH)
    ids = set(street.opened_alerts(len(EXPECTED)).values())
    expect_rows(page, ids)
    before = {tr.get_attribute("data-alert"): tr.get_attribute("data-revision")
              for tr in page.locator("#alerts tbody tr").all()}

    assert street.worker.stop() == 0  # the console stops with the worker's process
    expect(page.locator("#badge")).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("body")).to_have_attribute("data-rows", str(len(ids)))  # what it had stays shown
    street.worker.start()
    expect(page.locator("#badge")).to_have_attribute("data-state", "live", timeout=RESTART_MS)
    expect_rows(page, ids)  # the new console's snapshot and revisions: the same alerts, none twice
    after = {tr.get_attribute("data-alert"): tr.get_attribute("data-revision")
             for tr in page.locator("#alerts tbody tr").all()}
    assert after == before
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#badge")).to_have_attribute("data-state", "live")
    assert page.evaluate("window.__sameDocument") is True  # it reconnected by itself, no reload


def test_tracing_lists_who_passed_the_same_checkpoint_within_minutes_and_not_hours_later(street: Street) -> None:
    a_id = person_id("330822", "19850101", 411)
    b_id = person_id("330822", "19860202", 421)
    c_id = person_id("330822", "19870303", 431)
    evening = NIGHT - timedelta(hours=3)  # 19:00, before the late-night rule's hours
    street.bus.publish_batch(EventBatch(batch_id="b-trace", source=DINGYANG_CP.checkpoint_id, events=(
        passage("e-trace-a", id_number=a_id, event_time=evening),
        passage("e-trace-b", id_number=b_id, event_time=evening + timedelta(minutes=4), direction="out"),
        passage("e-trace-c", id_number=c_id, event_time=evening + timedelta(hours=2, minutes=30)),
    )))
    port = street.settings.metrics.port
    wait_for_metric(port, "gridwatch_sink_rows_total", 3, timeout=WAIT_MS / 1000, table="enriched_events")
    wait_for_metric(port, "gridwatch_sink_rows_total", 3, timeout=WAIT_MS / 1000, table="alerts")  # unregistered

    page = street.log_in(COMMAND_OPERATOR)
    page.click("nav a[href='/trace']")
    page.fill("input[name=id_number]", a_id)
    page.fill("input[name=until]", "2020-02-09T00:00")
    page.fill("input[name=days]", "14")
    page.fill("input[name=minutes]", "15")
    page.click("form.trace button")

    sightings = page.locator("#sightings tbody tr")
    expect(sightings).to_have_count(1)
    expect(sightings).to_contain_text("2020-02-08 19:00:00 UTC+8")
    expect(sightings).to_contain_text("东河北街50号卡点")
    contacts = page.locator("#contacts")
    expect(contacts.locator("tbody tr")).to_have_count(1)
    expect(contacts).to_contain_text(masked(b_id))
    expect(contacts).not_to_contain_text(masked(c_id))
    expect(contacts).not_to_contain_text(masked(a_id))
    assert a_id not in page.content()  # the typed number is not echoed back
    # the same question for C, hours apart from both: nobody else
    page.fill("input[name=id_number]", c_id)
    page.fill("input[name=until]", "2020-02-09T00:00")
    page.click("form.trace button")
    expect(page.locator("#sightings tbody tr")).to_contain_text("21:30:00")
    expect(page.locator("#contacts tbody tr")).to_have_count(1)
    expect(page.locator("#contacts tbody")).to_contain_text("无 none")

    page.goto("/report?day=2020-02-08")
    figures = page.locator("#figures tbody tr")
    expect(figures.filter(has_text="事件 events").locator("td").nth(1)).to_have_text("3")
    expect(figures.filter(has_text="出现人数 persons seen").locator("td").nth(1)).to_have_text("3")
    expect(figures.filter(has_text="其中登记住户").locator("td").nth(1)).to_have_text("0")
    expect(page.locator("#by-rule")).to_contain_text("unregistered_person")
    expect(page.locator("#by-grid tbody tr")).to_have_count(1)
    expect(page.locator("#by-grid tbody tr")).to_contain_text("LG07")
    screenshot(page, "report.png")
