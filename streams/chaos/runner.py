"""One fault campaign end to end: a broker of its own, a known input, a worker, a fault, and the checker.

Per scenario: one fault-free reference run, then ``runs`` runs with the fault,
each under a fresh topic prefix and consumer group on the campaign's own broker
(started here with ``infra/kafka/broker.sh``, so ``broker-restart`` can stop
it). A publisher thread uploads the same simulated street traffic at a live
rate while the fault is injected, with ``acks=all`` and every delivery
confirmation recorded: an event counts as input once the broker has
acknowledged it. After the fault the worker must drain to the end of
``events`` (its group's committed offsets equal the end offsets) within
``drain_timeout_s``, else the run is ``stuck``; then it is stopped with
SIGTERM and ClickHouse is read in a child process (chDB admits one process per
data directory), and ``checker.check`` counts.

``recovery_s``: from the end of each fault (worker spawned again, broker
back) until the group's committed offsets move again (or are at the end).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from streams.broker import EphemeralBroker as Broker
from streams.chaos.checker import PROMISES, FinalAlert, Outcome, check
from streams.chaos.contention import cpu_hogs
from streams.chaos.disk import SmallDisk
from streams.chaos.malformed import Upload, clean, with_malformed
from streams.clients import records_to_end
from streams.process import WorkerProcess, free_port, settings_env
from streams.scrape import metric, scrape
from streams.settings import REPO_ROOT, Settings
from streams.simulate import build_street, generate_day, publish_master_data
from streams.topics import ensure_topics

log = logging.getLogger("gridwatch.chaos")

STOP_WITHIN_S = 10.0
"""A worker sent SIGTERM must have exited within this, backlog or not (a stop counts as slow beyond it)."""


@dataclass(frozen=True)
class ChaosConfig:
    events: int = 20_000
    residents: int = 5_000
    rate_eps: float = 1_000.0
    partitions: int = 4
    seed: int = 11
    kills: int = 20
    terms: int = 5
    broker_restarts: int = 5
    """SIGTERMs of the broker per ``broker-restart`` run, and as many SIGKILLs."""
    bad_records: int = 10_000
    repeat_interval_s: float = 2.0
    drain_timeout_s: float = 300.0
    work: Path = REPO_ROOT / ".data" / "chaos"


# --- input ---------------------------------------------------------------------------------


FLUSH_TIMEOUT_S = 60.0
"""How long the publisher waits for the broker to confirm what it sent, after the last send, before it starts over
with a new producer (kafka-python's producer stopped getting answers after a broker SIGKILL: 452 of 10,000 events
confirmed, the rest never)."""
RESEND_ROUNDS = 3


class Publisher(threading.Thread):
    """Uploads ``uploads`` at ``rate_eps``; records every event the broker acknowledged, and the dead letters
    the acknowledged malformed records must produce. What the producer has not confirmed ``FLUSH_TIMEOUT_S`` after
    the last send is uploaded again by a new producer, as a terminal that reconnects would (a record the broker
    had after all is then there twice: the pipeline's to deduplicate)."""

    def __init__(self, bootstrap: str, topic: str, uploads: list[Upload], rate_eps: float) -> None:
        super().__init__(name="chaos-publisher", daemon=True)
        self._servers = bootstrap
        self._producer = self._new_producer()
        self._topic, self._uploads, self._rate = topic, uploads, rate_eps
        self.acknowledged: set[str] = set()
        self.failed = 0
        """Uploads of the day the broker did not acknowledge (their events are not input)."""
        self.bad_sent = sum(1 for u in uploads if u.kind)
        self.bad_refused = 0
        """Malformed records refused (over the broker's limit) or never confirmed: not input either."""
        self.dead_letters_expected = 0
        self.resent = 0
        """Uploads sent again by a new producer after the first did not confirm them."""
        self.stuck = False
        """Still unconfirmed after ``RESEND_ROUNDS`` producers."""
        self._confirmed: set[int] = set()
        self._too_large: set[int] = set()
        self._lock = threading.Lock()

    def _new_producer(self) -> KafkaProducer:
        # the broker's limit, as a terminal's client would have it: with 2 MiB here, kafka-python packed a
        # near-megabyte record with others into one batch the broker refused whole, real uploads with it
        return KafkaProducer(bootstrap_servers=self._servers, acks="all", linger_ms=5, retries=2**31 - 1,
                             retry_backoff_ms=200, request_timeout_ms=10_000, max_block_ms=120_000,
                             max_request_size=1_000_000, max_in_flight_requests_per_connection=1)

    def _on_ack(self, i: int, upload: Upload) -> Callable[[Any], None]:
        def done(_: Any) -> None:
            with self._lock:
                self._confirmed.add(i)
                self.acknowledged.update(upload.event_ids)
                self.dead_letters_expected += upload.dead_letters
        return done

    def _send(self, i: int, upload: Upload) -> None:
        try:
            future = self._producer.send(self._topic, key=upload.key, value=upload.value)
        except KafkaError:  # over the request limit: refused before it left
            self._too_large.add(i)
            return
        future.add_callback(self._on_ack(i, upload))

    def run(self) -> None:
        t0, sent = time.monotonic(), 0
        for i, upload in enumerate(self._uploads):
            wait = t0 + sent / self._rate - time.monotonic() if self._rate > 0 else 0
            if wait > 0:
                time.sleep(wait)
            self._send(i, upload)
            sent += len(upload.event_ids)
        for _ in range(RESEND_ROUNDS):
            try:
                self._producer.flush(timeout=FLUSH_TIMEOUT_S)
                break
            except KafkaError:
                with contextlib.suppress(KafkaError):  # closing flushes once more, and times out as well
                    self._producer.close(timeout=0)
                for _ in range(60):  # the broker may be down right now: a terminal keeps trying
                    try:
                        self._producer = self._new_producer()
                        break
                    except KafkaError:
                        time.sleep(2.0)
                with self._lock:
                    pending = [i for i in range(len(self._uploads))
                               if i not in self._confirmed and i not in self._too_large]
                self.resent += len(pending)
                for i in pending:
                    self._send(i, self._uploads[i])
        else:
            self.stuck = True
        with contextlib.suppress(KafkaError):
            self._producer.close(timeout=5)
        with self._lock:
            unconfirmed = [u for i, u in enumerate(self._uploads) if i not in self._confirmed]
        self.failed = sum(1 for u in unconfirmed if u.event_ids)
        self.bad_refused = sum(1 for u in unconfirmed if not u.event_ids)


# --- one run -----------------------------------------------------------------------------


@dataclass
class RunContext:
    """What a fault can touch while the publisher uploads."""

    cfg: ChaosConfig
    broker: Broker
    settings: Settings
    worker: WorkerProcess
    publisher: Publisher
    rng: random.Random
    recoveries: list[float] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    """Seconds from SIGTERM to the worker's exit, per stop (``worker-term``)."""
    backlog_at_stop: list[int] = field(default_factory=list)
    """Events not yet committed when each SIGTERM was sent: a stop with nothing left to do proves little."""
    alerts_during_outage: int | None = None
    """Alert revisions published while ClickHouse refused writes (``clickhouse-outage``): must not be 0."""
    faults: int = 0
    disk: SmallDisk | None = None
    """The tmpfs under ClickHouse's path (``disk-full``)."""
    disk_full_failures: float | None = None
    """Writes the worker counted as failed for a full disk (``gridwatch_sink_failures_total{reason="disk_full"}``)."""
    spares: list[tuple[WorkerProcess, Settings]] = field(default_factory=list)
    """More workers of the same group (``rebalance``), each with a data directory and a store of its own."""

    def spare_worker(self) -> WorkerProcess:
        """A new worker process of the run's group, not started."""
        n = len(self.spares) + 1
        settings = self.settings.model_copy(update={
            "data_dir": self.settings.data_dir / f"spare-{n}",
            "metrics": self.settings.metrics.model_copy(update={"port": free_port()}),
        })
        worker = WorkerProcess(log_path=settings.data_dir / "worker.log", metrics_port=settings.metrics.port,
                               env=settings_env(settings))
        self.spares.append((worker, settings))
        return worker

    def group_progress(self) -> tuple[int, int] | None:
        """(committed, end) offsets summed over ``events`` for the worker's group; None while unreachable."""
        topic = self.settings.kafka.topic("events")
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap, request_timeout_ms=3000)
            consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, request_timeout_ms=3000)
        except (KafkaError, OSError):  # the broker is down in this scenario; ask again later
            return None
        try:
            parts = [TopicPartition(topic, p) for p in range(self.settings.kafka.partitions)]
            group = self.settings.app_id
            committed = admin.list_group_offsets(group).get(group, {})
            ends = consumer.end_offsets(parts)
            return (sum(committed[tp].offset for tp in parts if tp in committed and committed[tp].offset >= 0),
                    sum(ends.values()))
        except (KafkaError, OSError):
            return None
        finally:
            admin.close()
            consumer.close()

    def wait_for_progress(self, since: float, timeout: float = 300.0) -> None:
        """Record how long until the group's committed offsets move past where they were (or are at the end)."""
        before = None
        while before is None and time.monotonic() - since < timeout:
            before = self.group_progress()
            time.sleep(0.2)
        while time.monotonic() - since < timeout:
            now = self.group_progress()
            if now is not None and before is not None and (now[0] > before[0] or now[0] >= now[1]):
                self.recoveries.append(time.monotonic() - since)
                return
            time.sleep(0.2)
        self.recoveries.append(float("inf"))

    def restart_worker(self) -> None:
        started = time.monotonic()
        self.worker.start()
        self.wait_for_progress(started)


def _fault_none(ctx: RunContext) -> None:
    ctx.publisher.join()


def _fault_worker_kill(ctx: RunContext) -> None:
    for _ in range(ctx.cfg.kills):
        time.sleep(ctx.rng.uniform(0.5, 3.0))
        ctx.worker.kill()
        ctx.faults += 1
        ctx.restart_worker()
    ctx.publisher.join()


def _fault_worker_term(ctx: RunContext) -> None:
    """SIGTERM, as an operator's restart, while the worker drains a backlog; each stop timed, then restarted."""
    ctx.publisher.join()  # the worker was down: the whole input waits
    for _ in range(ctx.cfg.terms):
        ctx.restart_worker()  # returns once the group's offsets move: the worker is draining
        time.sleep(ctx.rng.uniform(0.05, 0.3))  # a restarted worker drains thousands of events a second
        progress = ctx.group_progress()
        ctx.backlog_at_stop.append(progress[1] - progress[0] if progress else -1)
        started = time.monotonic()
        with contextlib.suppress(subprocess.TimeoutExpired):  # killed after 60 s: its time says so
            ctx.worker.stop(timeout=60.0)
        ctx.stops.append(time.monotonic() - started)
        ctx.faults += 1


def _alerts_published(ctx: RunContext) -> int | None:
    """Alert revisions on the run's ``alerts`` topic so far (its end offsets summed); None if unreachable."""
    topic = ctx.settings.kafka.topic("alerts")
    try:
        consumer = KafkaConsumer(bootstrap_servers=ctx.broker.bootstrap, request_timeout_ms=3000)
    except (KafkaError, OSError):
        return None
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(ctx.settings.kafka.partitions)])
        return int(sum(ends.values()))
    except (KafkaError, OSError):
        return None
    finally:
        consumer.close()


def _clickhouse_outage(seconds: float) -> Callable[[RunContext], None]:
    def fault(ctx: RunContext) -> None:
        """Every ClickHouse write fails for ``seconds`` from shortly after the uploads begin; then it recovers."""
        switch = ctx.settings.clickhouse.refuse_writes_while
        assert switch is not None  # noqa: S101 - _settings sets it for every run
        time.sleep(1.0)
        before = _alerts_published(ctx)
        switch.touch()
        ctx.faults += 1
        time.sleep(seconds)
        during = _alerts_published(ctx)
        switch.unlink()
        ctx.alerts_during_outage = (during - before) if during is not None and before is not None else -1
        ctx.wait_for_progress(time.monotonic())
        ctx.publisher.join()
    return fault


def _disk_full(seconds: float) -> Callable[[RunContext], None]:
    def fault(ctx: RunContext) -> None:
        """ClickHouse's disk filled for ``seconds`` from shortly after the uploads begin (topped up each second,
        as ClickHouse frees merged parts); then the space returns."""
        disk = ctx.disk
        assert disk is not None  # noqa: S101 - one_run mounts it for this scenario
        time.sleep(1.0)
        before = _alerts_published(ctx)
        ctx.faults += 1
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            disk.fill()
            time.sleep(1.0)
        during = _alerts_published(ctx)
        try:
            ctx.disk_full_failures = metric(scrape(ctx.settings.metrics.port), "gridwatch_sink_failures_total",
                                            table="enriched_events", reason="disk_full")
        except OSError:
            ctx.disk_full_failures = -1
        disk.free()
        ctx.alerts_during_outage = (during - before) if during is not None and before is not None else -1
        ctx.wait_for_progress(time.monotonic())
        ctx.publisher.join()
    return fault


def _fault_rebalance(ctx: RunContext) -> None:
    """A second and a third worker join and leave every 10 to 30 s while the uploads go on."""
    spares = [ctx.spare_worker(), ctx.spare_worker()]
    while ctx.publisher.is_alive():
        time.sleep(ctx.rng.uniform(10.0, 30.0))
        worker = ctx.rng.choice(spares)
        started = time.monotonic()
        if worker.running():
            worker.stop()
        else:
            worker.start()
        ctx.faults += 1
        ctx.wait_for_progress(started)
    for worker in spares:
        if worker.running():
            worker.stop()
            ctx.faults += 1


def _fault_broker_restart(ctx: RunContext) -> None:
    """The broker stopped with SIGTERM and killed with SIGKILL, ``broker_restarts`` times each, in turn, while
    the uploads go on (the publisher retries: nothing it was told is acknowledged may be lost)."""
    for n in range(2 * ctx.cfg.broker_restarts):
        time.sleep(ctx.rng.uniform(3.0, 6.0))
        if n % 2:
            ctx.broker.kill()
        else:
            ctx.broker.stop()
        ctx.faults += 1
        time.sleep(ctx.rng.uniform(2.0, 8.0))
        ctx.broker.start()
        ctx.wait_for_progress(time.monotonic())
    ctx.publisher.join()


def _fault_backlog(ctx: RunContext) -> None:
    """The worker is down while the whole input is published (an outage), then drains it."""
    ctx.publisher.join()
    ctx.faults += 1
    ctx.restart_worker()


def _fault_backlog_two_workers(ctx: RunContext) -> None:
    """As ``backlog``, drained by two workers of the group (each with a store of its own)."""
    ctx.publisher.join()
    ctx.faults += 1
    started = time.monotonic()
    ctx.spare_worker().start()
    ctx.worker.start()
    ctx.wait_for_progress(started)


def _fault_cpu_contention(ctx: RunContext) -> None:
    """A CPU-bound process on every core for the whole run: slower, never stopped."""
    with cpu_hogs():
        ctx.faults += 1
        ctx.publisher.join()
        ctx.wait_for_progress(time.monotonic())


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Callable[[RunContext], None]
    help: str
    malformed: bool = False
    """Generated malformed records among the uploads (``ChaosConfig.bad_records`` of them)."""
    worker_down_first: bool = False
    rate_eps: float | None = None
    """Upload rate of this scenario's publisher, if not the campaign's (faults that need a longer stream)."""
    small_disk_mb: int = 0
    """ClickHouse's path on a tmpfs of this size (``disk-full``; root only)."""


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("none", _fault_none, "no fault: a second fault-free run, the checker's control"),
    Scenario("worker-kill", _fault_worker_kill, "SIGKILL the worker at random moments mid-stream, restart it"),
    Scenario("worker-term", _fault_worker_term, "SIGTERM the worker while it drains a backlog, restart it",
             worker_down_first=True),
    Scenario("clickhouse-outage", _clickhouse_outage(30.0),
             "every ClickHouse write fails for 30 s mid-stream, then the store recovers"),
    Scenario("clickhouse-outage-5min", _clickhouse_outage(300.0),
             "every ClickHouse write fails for 5 minutes mid-stream, then the store recovers"),
    Scenario("disk-full", _disk_full(30.0), "ClickHouse's disk (a tmpfs) full for 30 s mid-stream, then freed",
             small_disk_mb=256),
    Scenario("rebalance", _fault_rebalance, "a second and a third worker join and leave every 10-30 s",
             rate_eps=100.0),
    Scenario("backlog-two-workers", _fault_backlog_two_workers,
             "publish the whole input while the worker is down; two workers drain it", worker_down_first=True),
    Scenario("broker-restart", _fault_broker_restart,
             "SIGTERM and SIGKILL the broker in turn mid-stream (5 each), start it again each time",
             rate_eps=100.0),
    Scenario("backlog", _fault_backlog, "publish the whole input while the worker is down; it drains it",
             worker_down_first=True),
    Scenario("bad-input", _fault_none, "generated malformed records among the uploads and inside them "
             "(streams/chaos/malformed.py)", malformed=True),
    Scenario("cpu-contention", _fault_cpu_contention, "a CPU-bound process on every core during the run"),
)}
REFERENCE = Scenario("reference", _fault_none, "no fault")


def _settings(broker: Broker, cfg: ChaosConfig, tag: str) -> Settings:
    run = uuid.uuid4().hex[:8]
    data_dir = (cfg.work / f"{tag}-{run}").resolve()
    return Settings(
        app_id=f"chaos-{tag}-{run}", data_dir=data_dir, log_level="info",
        kafka={"bootstrap": broker.bootstrap, "topic_prefix": f"c{run}.", "partitions": cfg.partitions},
        clickhouse={"flush_seconds": 0.5, "refuse_writes_while": data_dir / "clickhouse-down"},
        metrics={"port": free_port()},
        alerts={"repeat_interval_s": cfg.repeat_interval_s},
    )


def _count_topic(bootstrap: str, topic: str) -> dict[str, int]:
    """Dead letters on ``topic`` by reason."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    reasons: dict[str, int] = {}
    try:
        for rec in records_to_end(consumer, topic):
            reason = json.loads(rec.value)["reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
    finally:
        consumer.close()
    return reasons


def read_outcome(settings: Settings, stores: list[Settings] | None = None) -> Outcome:
    """ClickHouse as the stopped workers left it, each store read in a child process (chDB: one process per
    directory). With several workers, each has a store of its own: rows add up, and an alert's final state is
    its highest revision in any store. A row that two stores hold (a partition replayed by its next owner) is
    counted apart as ``replayed_across_stores``: one shared ClickHouse would have skipped it as stored."""
    stored: dict[str, int] = {}
    across: dict[str, int] = {}
    best: dict[str, tuple[int, FinalAlert]] = {}
    for store in stores or [settings]:
        out = subprocess.run([sys.executable, "-m", "streams.chaos.readback", store.clickhouse_dsn,  # noqa: S603
                              store.clickhouse.database], capture_output=True, check=True, text=True)
        doc = json.loads(out.stdout)
        for event_id, n in doc["stored"].items():
            across[event_id] = across.get(event_id, 0) + 1
            stored[event_id] = max(stored.get(event_id, 0), n)
        for alert_id, (fp, status, count, rule_id, revision) in doc["alerts"].items():
            if alert_id not in best or revision > best[alert_id][0]:
                best[alert_id] = (revision, (fp, status, count, rule_id))
    reasons = _count_topic(settings.kafka.bootstrap, settings.kafka.topic("dead-letters"))
    return Outcome(stored=stored, alerts={k: v for k, (_, v) in best.items()},
                   dead_letters=sum(reasons.values()), dead_letter_reasons=reasons,
                   replayed_across_stores=sum(n - 1 for n in across.values()))


def one_run(broker: Broker, cfg: ChaosConfig, scenario: Scenario, uploads: list[Upload],
            master: Callable[[Settings], None], seed: int, say: Callable[[str], None]) -> tuple[dict[str, Any],
                                                                                               Outcome, set[str]]:
    settings = _settings(broker, cfg, scenario.name)
    ensure_topics(settings.kafka)
    worker = WorkerProcess(log_path=settings.data_dir / "worker.log", metrics_port=settings.metrics.port,
                           env=settings_env(settings))
    disk = SmallDisk(settings.data_dir / "clickhouse", scenario.small_disk_mb) if scenario.small_disk_mb else None
    if disk is not None:
        disk.mount()
    try:
        return _run(broker, cfg, scenario, uploads, settings, worker, disk, master, seed, say)
    finally:
        if disk is not None:
            disk.unmount()


def _run(broker: Broker, cfg: ChaosConfig, scenario: Scenario, uploads: list[Upload], settings: Settings,
         worker: WorkerProcess, disk: SmallDisk | None, master: Callable[[Settings], None], seed: int,
         say: Callable[[str], None]) -> tuple[dict[str, Any], Outcome, set[str]]:
    master(settings)
    worker.start()  # ready: the registers are caught up
    if scenario.worker_down_first:
        worker.stop()
    publisher = Publisher(broker.bootstrap, settings.kafka.topic("events"), uploads,
                          0 if scenario.worker_down_first else scenario.rate_eps or cfg.rate_eps)
    ctx = RunContext(cfg=cfg, broker=broker, settings=settings, worker=worker, publisher=publisher,
                     rng=random.Random(seed), disk=disk)  # noqa: S311 - fault timing, not secrets
    started = time.monotonic()
    publisher.start()
    stuck = 0
    try:
        scenario.fault(ctx)
        if not worker.running():
            ctx.restart_worker()
        deadline = time.monotonic() + cfg.drain_timeout_s
        while True:
            progress = ctx.group_progress()
            if progress is not None and progress[0] >= progress[1]:
                break
            if time.monotonic() > deadline or not worker.running():
                stuck = 1
                say(f"  stuck: committed/end {progress}, worker running {worker.running()}\n{worker.log_tail(20)}")
                break
            time.sleep(0.5)
        time.sleep(3 * cfg.repeat_interval_s + 2 * settings.clickhouse.flush_seconds)  # held repeats released
    finally:
        try:
            worker.stop()
        except subprocess.TimeoutExpired:
            stuck = 1
            say("  the worker did not stop within 60 s of SIGTERM (killed)")
    for spare, _ in ctx.spares:  # a fault that failed half-way may leave one running
        if spare.running():
            spare.stop()
    outcome = read_outcome(settings, [settings, *(s for _, s in ctx.spares)] if ctx.spares else None)
    took = time.monotonic() - started
    recovery = max(ctx.recoveries, default=0.0)
    figures = {"faults": ctx.faults, "stuck": stuck, "recovery_s_max": recovery, "run_s": took,
               "stop_s_max": max(ctx.stops, default=0.0), "backlog_at_stop": ctx.backlog_at_stop,
               "slow_stops": sum(1 for s in ctx.stops if s > STOP_WITHIN_S),
               "replayed_across_stores": outcome.replayed_across_stores,
               "alerts_during_outage": ctx.alerts_during_outage,
               "disk_full_failures": ctx.disk_full_failures,
               "alerts_stopped": int(ctx.alerts_during_outage is not None and ctx.alerts_during_outage <= 0),
               "not_acknowledged": publisher.failed, "publisher_stuck": int(publisher.stuck),
               "resent_uploads": publisher.resent,
               "bad_records": publisher.bad_sent,
               "bad_refused_by_broker": publisher.bad_refused,
               "dead_letters_expected": publisher.dead_letters_expected,
               "crashes": sum(_crashes(w.log_path) for w in (worker, *(s for s, _ in ctx.spares))),
               "dead_letter_reasons": outcome.dead_letter_reasons, "worker_log": str(worker.log_path)}
    figures["data_dir"] = str(settings.data_dir)
    return figures, outcome, publisher.acknowledged


def campaign(scenario_names: list[str], *, runs: int, cfg: ChaosConfig, say: Callable[[str], None] = print
             ) -> dict[str, dict[str, Any]]:
    """Every named scenario ``runs`` times against one reference run; a summary per scenario."""
    cfg.work.mkdir(parents=True, exist_ok=True)
    broker = Broker(cfg.work / f"broker-{uuid.uuid4().hex[:6]}" / "kafka", quiet=True)
    street = build_street(seed=cfg.seed, residents=cfg.residents)
    batches = list(generate_day(street, seed=cfg.seed, events=cfg.events))
    day = clean(batches)
    say(f"chaos: {sum(len(b.events) for b in batches):,} events in {len(batches):,} uploads, "
        f"{cfg.residents:,} residents, {cfg.rate_eps:,.0f} events/s offered")

    def master(settings: Settings) -> None:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
        publish_master_data(street, producer=producer, topic=settings.kafka.topic)
        producer.flush()
        producer.close()

    broker.start()
    summaries: dict[str, dict[str, Any]] = {}
    try:
        say("reference run (no fault)")
        ref_figures, reference, ref_acked = one_run(broker, cfg, REFERENCE, day, master, cfg.seed, say)
        ref_check = check(ref_acked, reference, reference)
        ref_check["lost"] = len(ref_acked - reference.stored.keys())
        _discard_data(ref_figures, ref_check)
        say(f"  reference: {len(reference.alerts):,} alerts, {len(reference.stored):,} events stored, "
            f"lost {ref_check['lost']}, duplicated {ref_check['duplicated']}, {ref_figures['run_s']:.0f} s")
        for name in scenario_names:
            scenario = SCENARIOS[name]
            per_run = []
            for i in range(runs):
                say(f"{name}: run {i + 1}/{runs} ({scenario.help})")
                uploads = day
                if scenario.malformed:
                    uploads, kinds = with_malformed(batches, count=cfg.bad_records, seed=cfg.seed + 1 + i)
                    say(f"  {sum(kinds.values()):,} malformed records: "
                        + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())))
                figures, outcome, acked = one_run(broker, cfg, scenario, uploads, master, cfg.seed + 1 + i, say)
                if scenario.malformed:
                    figures["bad_kinds"] = dict(kinds)
                counts = check(acked, reference, outcome, dead_letters_expected=figures["dead_letters_expected"])
                per_run.append(figures | counts)
                _discard_data(figures, counts)
                say(_run_line(figures, counts))
            summaries[name] = summarise(name, per_run, cfg, ref_figures, ref_check)
    finally:
        broker.stop()
    return summaries


def _crashes(log_path: Path) -> int:
    """Agents that crashed in a worker's log (Faust restarts them; each is a record it may have skipped)."""
    if not log_path.exists():
        return 0
    with log_path.open(errors="replace") as f:
        return sum(1 for line in f if "Crashed reason=" in line)


def _run_line(figures: dict[str, Any], counts: dict[str, Any]) -> str:
    line = (f"  lost {counts['lost']}, duplicated {counts['duplicated']}, alerts missing {counts['alerts_missing']}, "
            f"extra {counts['alerts_extra']}, differing {counts['alerts_differing']} (clock-driven rules: "
            f"{counts['clock_alerts_differing']} differ), dead letters unexplained "
            f"{counts['dead_letters_unexplained']}, missing {counts['dead_letters_missing']}, "
            f"stuck {figures['stuck']}, crashes {figures['crashes']}, faults {figures['faults']}, "
            f"recovery max {figures['recovery_s_max']:.1f} s, {figures['run_s']:.0f} s")
    if figures["replayed_across_stores"]:
        line += (f"; {figures['replayed_across_stores']:,} rows also in a second worker's store "
                 "(replayed by the partition's next owner)")
    if figures["bad_records"]:
        line += (f"; {figures['bad_records']:,} records carried them, "
                 f"{figures['bad_refused_by_broker']:,} refused by the broker, "
                 f"{figures['dead_letters_expected']:,} dead letters expected")
    if figures["alerts_during_outage"] is not None:
        line += f"; {figures['alerts_during_outage']:,} alert revisions published while ClickHouse was down"
    if figures["disk_full_failures"] is not None:
        line += f", {figures['disk_full_failures']:.0f} writes failed as disk_full"
    if figures["backlog_at_stop"]:
        line += (f"; SIGTERM to exit max {figures['stop_s_max']:.1f} s, {figures['slow_stops']} over "
                 f"{STOP_WITHIN_S:.0f} s (events waiting at each: "
                 f"{', '.join(f'{n:,}' for n in figures['backlog_at_stop'])})")
    return line


def _discard_data(figures: dict[str, Any], counts: dict[str, Any]) -> None:
    """Remove a run's worker data unless a promise was broken there: then it is kept for the post-mortem."""
    kept = figures["stuck"] == figures["crashes"] == figures["slow_stops"] == figures["alerts_stopped"] == 0
    if kept and not any(counts[k] for k in PROMISES if k not in ("stuck", "crashes")):
        shutil.rmtree(Path(figures["data_dir"]) / "worker", ignore_errors=True)
        figures["data_dir"] = None


SUMMED = ("lost", "duplicated", "alerts_missing", "alerts_extra", "alerts_differing", "clock_alerts_differing",
          "dead_letters_unexplained", "dead_letters_missing", "stuck", "crashes", "slow_stops", "alerts_stopped",
          "faults", "not_acknowledged", "bad_records", "bad_refused_by_broker", "dead_letters_expected")


def summarise(name: str, per_run: list[dict[str, Any]], cfg: ChaosConfig, ref_figures: dict[str, Any],
              ref_check: dict[str, object]) -> dict[str, Any]:
    summary: dict[str, Any] = {"scenario": name, "runs": len(per_run)}
    summary |= {k: sum(int(r[k]) for r in per_run) for k in SUMMED}
    summary["recovery_s_max"] = max((r["recovery_s_max"] for r in per_run), default=0.0)
    summary["stop_s_max"] = max((r["stop_s_max"] for r in per_run), default=0.0)
    summary["events_per_run"] = per_run[0]["events"] if per_run else 0
    summary["alerts_expected"] = per_run[0]["alerts_expected"] if per_run else 0
    summary["reference"] = {"lost": ref_check["lost"], "duplicated": ref_check["duplicated"],
                            "run_s": ref_figures["run_s"]}
    summary["config"] = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    summary["per_run"] = per_run
    return summary
