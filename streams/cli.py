"""``gridwatch``: the command line of the pipeline.

    gridwatch worker     run the stream worker (Faust agents, ClickHouse sink, /metrics)
    gridwatch topics     create (idempotently) and describe the project's topics
    gridwatch simulate   publish a simulated Tianma Street day to Kafka
    gridwatch demo       broker + worker + simulator, live alerts on screen
    gridwatch bench      the benchmark: throughput vs. the Kafka client's limit and peers
    gridwatch chaos      the fault campaign: kill, restart, backlog, bad input; lost / doubled / stuck counted
    gridwatch bench-engine  the engine alone in process (decode, enrich, rules), per phase; no Kafka
    gridwatch console    the command post's web console (live alerts, actions, tracing, the day's report)
    gridwatch operators  add or list the console's operator accounts
    gridwatch dead-letters  list what was refused and why; replay it (with the key) after a fix
    gridwatch keys       the person-key secrets: make, rotate, list, destroy when their data has expired
    gridwatch purge      the end of the emergency: every personal record removed
    gridwatch report     the day's report for the street, from ClickHouse
    gridwatch schemas    write the JSON Schema of every topic's contract
    gridwatch rules      print the effective rule catalogue (--json), or check a catalogue file (--file)

Settings come from the environment (``GRIDWATCH_…``, see streams/settings.py);
the flags here override the few that people change by hand.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from streams.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from streams.codec import describe

    try:
        settings = Settings()
    except ValidationError as exc:  # describe() leaves out the values: they may be secrets
        sys.exit(f"invalid settings: {describe(exc)}")
    if getattr(args, "bootstrap", None):
        kafka = settings.kafka.model_copy(update={"bootstrap": args.bootstrap})
        settings = settings.model_copy(update={"kafka": kafka})
    return settings


def cmd_worker(args: argparse.Namespace) -> int:
    from faust.worker import Worker
    from prometheus_client import start_http_server

    from streams import diagnostics, logthrottle
    from streams.app import WorkerResources, create_app, worker_topics
    from streams.catalogue import CatalogueError, load_catalogue
    from streams.engine import RuleVersionMismatch
    from streams.metrics import WORKER_READY
    from streams.stopping import StopDeadline
    from streams.topics import ensure_topics

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:  # refuse a bad rule catalogue before touching Kafka
        catalogue = load_catalogue(settings.rules.file)
    except (CatalogueError, RuleVersionMismatch) as exc:
        print(f"gridwatch worker: refusing to start: {exc}", file=sys.stderr)
        return 2
    ensure_topics(settings.kafka, retention=settings.retention)
    if settings.metrics.port:
        start_http_server(settings.metrics.port, addr=settings.metrics.host)
        logging.getLogger("gridwatch").info(
            "metrics on http://%s:%d/metrics", settings.metrics.host, settings.metrics.port
        )
    resources = WorkerResources.open(settings)
    try:
        app = create_app(settings, resources, catalogue)
    except RuleVersionMismatch as exc:
        resources.close()
        print(f"gridwatch worker: refusing to start: {exc}", file=sys.stderr)
        return 2
    # the topics Faust would create as it starts, created before the group is joined: on a loaded machine a
    # topic created moments before the first assignment was not in the metadata yet, the assignor ignored it
    # ("Ignoring missing topic: ...findings"), and until the next rebalance no worker read it: every finding
    # sent through it was lost to the alerts (a demo with 0 alerts, the alert path "not started processing")
    ensure_topics(settings.kafka, worker_topics(app, settings))
    deadline = StopDeadline(settings.stream.stop_within_s)

    class ReadyWorker(Worker):
        async def on_startup_finished(self) -> None:
            await super().on_startup_finished()
            WORKER_READY.labels(component="consumer").set(1)
            diagnostics.install(app)  # `kill -USR1 <pid>`: where a worker that looks stuck waits

        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            logthrottle.install(logger)  # the Kafka clients' retries during an outage: once per 30 s, counted

        def _schedule_shutdown(self, signal: signal.Signals) -> None:  # mode's SIGTERM and SIGINT handler
            deadline.arm()
            super()._schedule_shutdown(signal)

        def on_worker_shutdown(self) -> None:  # any other way out (a crash): the stop that follows is bounded too
            deadline.arm()
            super().on_worker_shutdown()

    console = None
    if settings.console.in_worker:  # the embedded store admits one process: the console reads it from here
        from streams.console.server import ConsoleServer

        console = ConsoleServer(settings)
        try:
            console.start()
        except RuntimeError as exc:
            resources.close()
            print(f"gridwatch worker: refusing to start: {exc}", file=sys.stderr)
            return 2
    worker = ReadyWorker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        if console is not None:
            console.stop()
        resources.close()
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from streams.console.server import ConsoleServer

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if settings.clickhouse_dsn.startswith("chdb:"):
        print("gridwatch console: the embedded chDB store admits one process, the worker's: run the console in the "
              "worker (GRIDWATCH_CONSOLE__IN_WORKER=true) or point GRIDWATCH_CLICKHOUSE__DSN at a ClickHouse server",
              file=sys.stderr)
        return 2
    from streams.topics import ensure_topics

    ensure_topics(settings.kafka)
    server = ConsoleServer(settings)
    try:
        server.start()
    except RuntimeError as exc:
        print(f"gridwatch console: {exc}", file=sys.stderr)
        return 2
    print(f"console on {server.url}")
    try:
        server.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


def cmd_operators(args: argparse.Namespace) -> int:
    import getpass

    from streams.console.operators import OperatorError
    from streams.console.server import operator_book

    book = operator_book(_settings(args))
    try:
        if args.action == "list":
            for o in book.load().values():
                print(f"{o.name:24s} {o.role:8s} {o.scope}")
            return 0
        if not args.name:
            print("gridwatch operators add: give the operator's name", file=sys.stderr)
            return 2
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
        operator = book.add(args.name, password, args.role, args.grid or "")
    except OperatorError as exc:
        print(f"gridwatch operators: {exc}", file=sys.stderr)
        return 2
    print(f"operator {operator.name} ({operator.role}, {operator.scope}) saved in {book.path}")
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from streams.deadletters import letters, replay
    from streams.sealing import Sealer

    settings = _settings(args)
    if args.action == "list":
        n = 0
        for partition, offset, d in letters(settings, reason=args.reason):
            where = f"{d.source_topic}/{d.partition}/{d.offset}" + (f"#{d.event_index}" if d.event_index is not None
                                                                   else "")
            cut = " (truncated)" if d.original_truncated else ""
            print(f"{d.failed_at.isoformat()}  {d.reason:17s} {where:48s} {d.original_size or 0:>9,} B{cut}  "
                  f"key {d.key_id}  [{partition}/{offset}]  {d.detail[:80]}")
            n += 1
        print(f"{n} dead letter(s)")
        return 0
    try:
        sealer = Sealer.from_file(Path(args.key_file) if args.key_file else settings.dead_letter_key_file,
                                  create=False)
    except (FileNotFoundError, ValueError) as exc:
        print(f"gridwatch dead-letters replay: {exc}", file=sys.stderr)
        return 2
    result = replay(settings, sealer, reason=args.reason, dry_run=args.dry_run)
    verb = "would re-publish" if args.dry_run else "re-published"
    print(f"{verb} {result.sent}; {result.truncated} truncated (fetch from their source offset); "
          f"{result.wrong_key} sealed with another key")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from streams import keyring

    settings = _settings(args)
    path = settings.privacy.person_keyring_file
    if path is None:
        print("gridwatch keys: set GRIDWATCH_PRIVACY__PERSON_KEYRING_FILE (the secrets' file) first", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    days = settings.retention.person_key_days()
    keep_for = timedelta(days=days) if days else None
    link_for = timedelta(days=settings.privacy.person_key_link_days)
    try:
        if args.action == "init":
            if path.exists():
                print(f"gridwatch keys init: {path} exists (rotate it instead)", file=sys.stderr)
                return 2
            keyring.write_keyring(path, keyring.new_ring(now))
            print(f"keyring {path}: secret k1 made, current")
            return 0
        ring = keyring.read_keyring(path)
        if args.action == "rotate":
            ring = keyring.rotate(ring, now)
            keyring.write_keyring(path, ring)
            old = ring[-2]
            due = keyring.due_at(old, keep_for)
            print(f"keyring {path}: {ring[-1].id} current for new data from each process's next start; {old.id} "
                  f"retired, linked until {(now + link_for).isoformat(timespec='minutes')}, may be destroyed "
                  f"from {due.isoformat(timespec='minutes') if due else 'never (data kept for good)'}")
            return 0
        if args.action == "destroy":
            kept = keyring.destroy(ring, args.ids, now=now, keep_for=keep_for, force=args.force)
            gone = sorted({s.id for s in ring} - {s.id for s in kept})
            if gone:
                keyring.write_keyring(path, kept)
            print(f"keyring {path}: destroyed {', '.join(gone) if gone else 'nothing (none due)'}")
            return 0
        for secret in ring:
            due = keyring.due_at(secret, keep_for)
            if secret.retired is None:
                state = "current"
            elif now - secret.retired < link_for:
                state = f"retired {secret.retired:%Y-%m-%d %H:%M}, linked until {secret.retired + link_for:%Y-%m-%d}"
            else:
                state = f"retired {secret.retired:%Y-%m-%d %H:%M}, held for tracing"
            if due is not None:
                state += f"; destroy from {due:%Y-%m-%d}" + (" (due now)" if due <= now else "")
            print(f"{secret.id:6s} made {secret.created:%Y-%m-%d %H:%M}  {state}")
        return 0
    except keyring.KeyringError as exc:
        print(f"gridwatch keys {args.action}: {exc}", file=sys.stderr)
        return 2


def cmd_purge(args: argparse.Namespace) -> int:
    from sinks import SinkError
    from streams.purge import purge

    settings = _settings(args)
    if args.confirm != settings.app_id:
        print(f"gridwatch purge: removes every personal record of app {settings.app_id!r} for good; stop its "
              f"workers, then run again with --confirm {settings.app_id}", file=sys.stderr)
        return 2
    try:
        purge(settings)
    except SinkError as exc:
        print(f"gridwatch purge: {exc} (stop the worker first: the embedded store admits one process)",
              file=sys.stderr)
        return 3
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import csv
    from datetime import date

    from sinks import ClickHouseSink, SinkError
    from streams.console.queries import Queries

    settings = _settings(args)
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        print("gridwatch report: --day is YYYY-MM-DD", file=sys.stderr)
        return 2
    store = ClickHouseSink(dsn=settings.clickhouse_dsn, database=settings.clickhouse.database)
    try:
        store.setup()
        report = Queries(store, settings.clickhouse.database).report(day)
    except SinkError as exc:
        hint = (" (the embedded store admits one process: stop the worker, or use the console's report page)"
                if settings.clickhouse_dsn.startswith("chdb:") else "")
        print(f"gridwatch report: {exc}{hint}", file=sys.stderr)
        return 3
    finally:
        store.close()
    from streams.console.server import read_registers
    from streams.topics import ensure_topics

    ensure_topics(settings.kafka)
    census, places = read_registers(settings)
    figures = census.figures(day)
    rows = [("registers", "compounds", str(len(places.compounds))),
            ("registers", "checkpoints", str(len(places.checkpoints))),
            ("registers", "large_grids", str(sum(len(g) for g in places.large_grids().values()))),
            *(("registers", k, str(v)) for k, v in vars(figures).items()), *report.csv_rows()[1:]]
    if args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["section", "key", "value"])
        w.writerow(["day", "", day.isoformat()])
        w.writerows(rows)
        return 0
    print(f"Tianma Street, {day.isoformat()} (UTC+8)")
    for section, key, value in rows:
        print(f"  {section:26s} {key:34s} {value}")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.topics import describe_topics, ensure_topics

    settings = _settings(args)
    if args.action == "create":
        infos = ensure_topics(settings.kafka, retention=settings.retention)
    else:
        infos = describe_topics(settings.kafka)
    for info in infos:
        state = "created" if info.created else ("missing" if info.partitions == 0 else "exists")
        kind = "compacted" if info.compacted else "delete"
        print(f"{info.name:40s} partitions={info.partitions:<3d} cleanup={kind:9s} {state}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas import TOPIC_CONTRACTS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for logical, model in TOPIC_CONTRACTS.items():
        path = out / f"{logical}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n")
        print(path)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from streams.simulate.run import run_simulation

    settings = _settings(args)
    stats = run_simulation(
        settings,
        seed=args.seed,
        residents=args.residents,
        speed=args.speed,
        master_only=args.master_only,
        progress=not args.no_progress,
    )
    print(stats.summary())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(_settings(args), seed=args.seed, speed=args.speed, exit_when_done=args.exit_when_done)


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import BenchConfig, run_bench
    from streams.demo import local_broker

    cfg = BenchConfig(
        events=args.events, residents=args.residents, out=Path(args.out), partitions=args.partitions,
        peer_events=BenchConfig.peer_events if args.peer_events is None else tuple(
            (name, args.peer_events) for name, _ in BenchConfig.peer_events
        ),
        latency_eps=args.latency_eps, latency_seconds=args.latency_seconds,
        latency_curve=tuple(int(r) for r in args.latency_curve.split(",") if r), probe_events=args.probe_events,
        peers=tuple(p for p in args.peers.split(",") if p and p != "none"), two_workers=not args.one_worker,
    )
    settings = _settings(args)
    if args.external_broker:
        figures = run_bench(settings, cfg)
    else:
        with local_broker(settings):
            figures = run_bench(settings, cfg)
    print(json.dumps(figures, indent=2, default=str))
    return 0


def cmd_chaos(args: argparse.Namespace) -> int:
    from streams.chaos.checker import PROMISES
    from streams.chaos.runner import SCENARIOS, ChaosConfig, campaign

    names = list(SCENARIOS) if args.scenario == ["all"] else args.scenario
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"gridwatch chaos: unknown scenario {', '.join(unknown)}; one of: all, {', '.join(SCENARIOS)}",
              file=sys.stderr)
        return 2
    cfg = ChaosConfig(events=args.events, rate_eps=args.rate, kills=args.kills, terms=args.terms,
                      bad_records=args.bad_records)
    summaries = campaign(names, runs=args.runs, cfg=cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    for name, summary in summaries.items():
        (out / f"{name}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        brief = {k: v for k, v in summary.items() if k not in ("per_run", "config")}
        print(json.dumps(brief, default=str))
        failed |= any(summary[k] for k in (*PROMISES, "slow_stops", "alerts_stopped"))
    print(f"summaries in {out}/")
    return 1 if failed else 0


def cmd_bench_engine(args: argparse.Namespace) -> int:
    from bench.engine import run_from_args

    return run_from_args(args)


def cmd_rules(args: argparse.Namespace) -> int:
    from streams.catalogue import CatalogueError, format_duration, load_catalogue, packaged_catalogue
    from streams.engine import Engine, RuleVersionMismatch
    from streams.rules.state import MemoryState

    path = Path(args.file) if args.file else _settings(args).rules.file
    try:
        catalogue = load_catalogue(path)
        # what the worker checks at start-up too: a catalogue it would refuse is refused here
        Engine(catalogue, states=lambda rule_id: MemoryState())
    except (CatalogueError, RuleVersionMismatch) as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(catalogue.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    print(f"catalogue {path or packaged_catalogue()}: version {catalogue.version}, "
          f"timezone {catalogue.timezone}, lateness {format_duration(catalogue.lateness)}")
    rows = [
        (
            spec.id, str(spec.version), "yes" if spec.enabled else "no", spec.severity.value,
            " ".join([f"suppress={format_duration(spec.suppression_window)}"]
                     + [f"{k}={_param_text(v)}" for k, v in spec.params.model_dump(mode="json").items()]),
            spec.description_en,
        )
        for spec in catalogue.rules
    ]
    header = ("id", "ver", "enabled", "severity", "parameters", "description")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    return 0


def _param_text(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridwatch",
        description="Checkpoint control for Tianma Street: scans and passages in, grid-routed alerts out.",
    )
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (overrides GRIDWATCH_KAFKA__BOOTSTRAP)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("worker", help="run the stream worker: agents, ClickHouse sink and /metrics")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("topics", help="create (idempotently) or describe the project's topics")
    p.add_argument("action", choices=["create", "describe"], nargs="?", default="describe")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("simulate", help="publish a simulated Tianma Street day (master data, then events)")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--residents", type=int, default=18_400)
    p.add_argument("--speed", type=float, default=1440.0,
                   help="simulated seconds per real second; 1440 plays a day in a minute, 0 = no pacing")
    p.add_argument("--master-only", action="store_true", help="publish master data and stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="broker + worker + simulated day, live alerts on screen (Ctrl-C stops)")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--speed", type=float, default=1440.0)
    p.add_argument("--exit-when-done", action="store_true", help="stop after the day instead of waiting for Ctrl-C")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="throughput, latency, memory and restart, against the client's limit and peers")
    p.add_argument("--events", type=int, default=1_000_000, help="events in the backlog")
    p.add_argument("--residents", type=int, default=1_000_000, help="residents in the registers")
    p.add_argument("--out", default="bench-results/latest.json", help="JSON result; the PNG goes beside it")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--peer-events", type=int, default=None,
                   help="events each peer processes (default: naive_faust 5,000, quix 200,000; rates are compared)")
    p.add_argument("--peers", default="naive_faust,quix", help="comma-separated, or 'none'")
    p.add_argument("--latency-eps", type=int, default=5_000,
                   help="the latency curve's point reported as latency_ms (events/s offered)")
    p.add_argument("--latency-curve", default="500,1000,2000,5000,10000,20000",
                   help="offered loads of the latency curve, events/s, comma-separated (stops once one saturates)")
    p.add_argument("--latency-seconds", type=float, default=20.0, help="seconds each curve point is offered")
    p.add_argument("--probe-events", type=int, default=200, help="single events of the idle probe")
    p.add_argument("--one-worker", action="store_true", help="skip the two-worker phase")
    p.add_argument("--external-broker", action="store_true",
                   help="use the broker at --bootstrap as it is (default: start and stop the project's own)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("chaos", help="the fault campaign on a broker of its own; exit 1 if anything was lost, "
                                     "doubled or stuck")
    p.add_argument("scenario", nargs="+",
                   help="one of the scenarios in the README's fault-campaign table, or all")
    p.add_argument("--runs", type=int, default=1, help="runs per scenario (one reference run for all)")
    p.add_argument("--events", type=int, default=20_000, help="events per run")
    p.add_argument("--rate", type=float, default=1_000.0, help="events/s offered while the fault is injected")
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs per worker-kill run")
    p.add_argument("--terms", type=int, default=5, help="SIGTERMs per worker-term run")
    p.add_argument("--bad-records", type=int, default=10_000, help="malformed records per bad-input run")
    p.add_argument("--out", default="bench-results/chaos", help="directory for one JSON summary per scenario")
    p.set_defaults(func=cmd_chaos)

    p = sub.add_parser("bench-engine", help="the engine alone in process, phase by phase (no Kafka)")
    from bench.engine import add_arguments as bench_engine_arguments

    bench_engine_arguments(p)
    p.set_defaults(func=cmd_bench_engine)

    p = sub.add_parser("rules", help="print the effective rule catalogue, or check a catalogue file")
    p.add_argument("--json", action="store_true", help="the catalogue as JSON instead of a table")
    p.add_argument("--file", help="validate and print this catalogue instead of the configured one "
                                  "(exit status 2, with the problems on stderr, if it is bad)")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("console", help="the command post's web console (needs a ClickHouse server DSN; with the "
                                       "embedded store it runs inside the worker)")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("operators", help="add or list the console's operator accounts")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?", help="operator id from the duty roster (not a person's name)")
    p.add_argument("--role", choices=["command", "grid"], default="command",
                   help="command: the command post, every grid; grid: grid staff, their large grid only")
    p.add_argument("--grid", help="the large grid of grid staff, e.g. lg07")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else prompt)")
    p.set_defaults(func=cmd_operators)

    p = sub.add_parser("dead-letters", help="list dead letters, or re-publish them to their source after a fix")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("--reason", choices=["invalid_json", "schema_violation", "processing_error"])
    p.add_argument("--key-file", help="the dead-letter key (default: the settings' privacy.dead_letter_key_file)")
    p.add_argument("--dry-run", action="store_true", help="replay: count, send nothing")
    p.set_defaults(func=cmd_dead_letters)

    p = sub.add_parser("keys", help="the person-key secrets: init, rotate, list, destroy (the due ones, or IDs)")
    p.add_argument("action", choices=["init", "rotate", "list", "destroy"])
    p.add_argument("ids", nargs="*", help="destroy: these secrets (default: every one whose data has expired)")
    p.add_argument("--force", action="store_true", help="destroy: even a secret whose data is still kept")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("purge", help="end of the emergency: every personal record removed, registers tombstoned, "
                                     "worker state and the dead-letter key destroyed (workers stopped first)")
    p.add_argument("--confirm", default="", help="the app id, to say you mean it")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("report", help="the day's report for the street, from ClickHouse")
    p.add_argument("--day", required=True, help="YYYY-MM-DD, Beijing time")
    p.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("schemas", help="write the JSON Schema of every topic's contract")
    p.add_argument("--out", default="docs/schemas")
    p.set_defaults(func=cmd_schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    from streams.topics import BrokerUnreachable

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokerUnreachable as exc:  # one line, not a traceback: the fix is in the message
        print(f"gridwatch {args.command}: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
