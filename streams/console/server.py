"""Running the console: in a thread of the worker's process (chDB), or as ``gridwatch console`` (a server DSN).

``ConsoleServer`` owns what the web layer needs that touches the outside:
the followers of ``alerts``, ``compounds`` and ``checkpoints``, the
producer of ``alert-actions``, the ClickHouse reader and an aiohttp site on
an event loop of its own, in a thread of its own. ``start()`` returns once
the site listens (or raises, in one line's worth, if the port is taken);
``stop()`` closes everything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from schemas import AlertAction
from sinks import ClickHouseSink
from streams.catalogue import load_catalogue
from streams.console.audit import AuditTrail
from streams.console.board import AlertBoard
from streams.console.census import Census
from streams.console.feed import ActionPublisher, TopicFollower, alert_follower
from streams.console.operators import OperatorBook
from streams.console.places import Places
from streams.console.queries import Queries
from streams.console.session import SessionSigner
from streams.console.web import Console, RuleText, build_app
from streams.settings import Settings

log = logging.getLogger(__name__)


def console_dir(settings: Settings) -> Path:
    return settings.data_dir / "console"


def operator_book(settings: Settings) -> OperatorBook:
    return OperatorBook(settings.console.operators_file or console_dir(settings) / "operators.json")


def session_secret(settings: Settings) -> bytes:
    """The configured secret, or the one kept in the data directory (made once, readable by its owner only)."""
    if settings.console.session_secret is not None:
        return settings.console.session_secret.get_secret_value().encode()
    path = console_dir(settings) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def read_registers(settings: Settings, *, timeout: float = 120.0) -> tuple[Census, Places]:
    """The register figures and places as the topics hold them now (read to their end), for ``gridwatch report``."""
    census, places = Census(), Places()
    followers = [TopicFollower(settings.kafka, "residents", census.take_resident),
                 TopicFollower(settings.kafka, "quarantine-orders", census.take_order),
                 TopicFollower(settings.kafka, "compounds", places.take_compound),
                 TopicFollower(settings.kafka, "checkpoints", places.take_checkpoint)]
    for f in followers:
        f.start()
    try:
        for f in followers:
            if not f.caught_up.wait(timeout):
                raise TimeoutError(f"the register topics were not read to their end within {timeout:.0f} s")
    finally:
        for f in followers:
            f.stop()
        for f in followers:
            f.join(timeout=10)
    return census, places


class ConsoleServer:
    def __init__(self, settings: Settings, *, with_store: bool = True) -> None:
        self.settings = settings
        self.url = f"http://{settings.console.host}:{settings.console.port}/"
        self._with_store = with_store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._followers: list[TopicFollower] = []
        self._publisher: ActionPublisher | None = None
        self._store: ClickHouseSink | None = None

    def start(self, timeout: float = 60.0) -> None:
        self._thread = threading.Thread(target=self._serve, name="console", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"the console did not start within {timeout:.0f} s")
        if self._error is not None:
            raise RuntimeError(f"the console could not start: {self._error}") from None
        log.info("console on %s", self.url)

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open(loop))
        except BaseException as exc:  # handed to start(), which raises it in the caller's thread
            self._error = exc
            self._started.set()
            self._close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            self._close()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

    async def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        s = self.settings
        catalogue = load_catalogue(s.rules.file)
        rules: dict[str, RuleText] = {r.id: RuleText(r.name_zh, r.name_en, r.description_zh, r.description_en)
                                      for r in catalogue.rules}
        queries = None
        if self._with_store:
            self._store = ClickHouseSink(dsn=s.clickhouse_dsn, database=s.clickhouse.database)
            await asyncio.to_thread(self._store.setup)
            queries = Queries(self._store, s.clickhouse.database)
        self._publisher = publisher = ActionPublisher(s.kafka)

        async def publish(action: AlertAction) -> None:
            await asyncio.to_thread(publisher.publish, action)

        places = Places()
        census = Census()

        def on_loop(fn: Callable[..., None]) -> Callable[..., None]:
            """``fn`` called on the console's loop (the board and places are touched from there only)."""

            def call(*args: object) -> None:
                loop.call_soon_threadsafe(fn, *args)

            return call

        alerts = alert_follower(s.kafka, on_loop(lambda a: console.take(a)))
        console = Console(
            board=AlertBoard(), places=places, operators=operator_book(s),
            signer=SessionSigner(session_secret(s), max_age_s=s.console.session_hours * 3600),
            audit=AuditTrail(s.console.audit_file or console_dir(s) / "audit.jsonl"), rules=rules,
            person_keys=s.privacy.person_keys(),
            publish=publish, queries=queries, census=census, heard_at=lambda: alerts.heard_at,
        )
        self._followers = [
            alerts,
            TopicFollower(s.kafka, "compounds", on_loop(places.take_compound)),
            TopicFollower(s.kafka, "checkpoints", on_loop(places.take_checkpoint)),
            TopicFollower(s.kafka, "residents", on_loop(census.take_resident)),
            TopicFollower(s.kafka, "quarantine-orders", on_loop(census.take_order)),
        ]
        for f in self._followers:
            f.start()
        self._runner = web.AppRunner(build_app(console), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, s.console.host, s.console.port).start()

    def _close(self) -> None:
        for f in self._followers:
            f.stop()
        if self._publisher is not None:
            self._publisher.close()
        if self._store is not None:
            self._store.close()
