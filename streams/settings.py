"""The one typed settings object, built once at start-up and passed down.

Every value can come from the environment with the ``GRIDWATCH_`` prefix and
``__`` between section and field, e.g. ``GRIDWATCH_KAFKA__BOOTSTRAP=host:9092``
or ``GRIDWATCH_RULES__FILE=/etc/gridwatch/rules.yaml`` (thresholds live in the
rule catalogue). No other module reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.keyring import read_keyring
from streams.privacy import PersonKeys

REPO_ROOT = Path(__file__).resolve().parent.parent

# logical topic name -> compacted?
TOPICS: dict[str, bool] = {
    "events": False,
    "residents": True,
    "compounds": True,
    "checkpoints": True,
    "quarantine-orders": True,
    "risk-areas": True,
    "visitors": True,
    "person-records": True,
    "enriched-events": False,
    "alerts": False,
    "alert-actions": False,
    "dead-letters": False,
}

INTERNAL_TOPICS: tuple[str, ...] = (
    "rule-input",  # events routed to the partition of a stateful rule's key
    "findings",  # findings routed to the partition of their alert fingerprint
)
"""Topics between the worker's own agents: named per app id (like Faust's changelogs) and created by Faust,
so a second consumer group replaying the inputs never reads another group's work in progress."""


class KafkaSettings(BaseModel):
    bootstrap: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="SASL_SSL: SCRAM-SHA-512 over TLS (infra/kafka/broker.sh with KAFKA_SECURED=1); every client of "
                    "ours then takes the user, its password and the CA below.")
    sasl_username: str = Field(default="", description="This process's principal: worker, terminal, registers, "
                                                        "console or subscriber.")
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(default=None, description="Or read the password from this file.")
    ssl_cafile: Path | None = Field(default=None, description="The CA that signed the broker's certificate (PEM).")
    topic_prefix: str = "gridwatch."
    partitions: int = Field(default=4, ge=1, description="Of every topic the project creates.")
    replication: int = Field(default=1, ge=1)
    connect_wait_s: float = Field(
        default=8.0, gt=0, le=300,
        description="How long a command waits for the broker at start-up before it gives up with one line.",
    )
    static_membership: bool = Field(
        default=True,
        description="Join the group as a static member (id from app id and data directory): a restarted worker gets "
                    "its partitions back at once; a worker stopped for good hands them over after the session "
                    "timeout (60 s).",
    )
    fetch_max_wait_ms: int = Field(
        default=10, ge=0, le=1_500,
        description="How long the worker's fetch may wait at the broker for data: bounds each hop's added delay.",
    )
    producer_linger_ms: int = Field(
        default=5, ge=0, le=1_000,
        description="How long the worker's producer holds a record to batch it with others: each alert waits up to "
                    "this long on its way out when the worker is quiet.",
    )
    producer_request_timeout_s: float = Field(
        default=30.0, gt=0, le=1_200,
        description="How long the worker's producer waits for any one answer of the broker before it retries "
                    "(Kafka's own default). Faust's 1,200 s let one unanswered metadata request stop every send "
                    "and every commit for twenty minutes.",
    )

    @model_validator(mode="after")
    def _credentials_when_secured(self) -> KafkaSettings:
        if self.security_protocol == "SASL_SSL":
            missing = [name for name, ok in (("sasl_username", self.sasl_username),
                                             ("sasl_password or sasl_password_file",
                                              self.sasl_password is not None or self.sasl_password_file),
                                             ("ssl_cafile", self.ssl_cafile)) if not ok]
            if missing:
                raise ValueError(f"SASL_SSL needs {', '.join(missing)}")
        return self

    def password(self) -> str:
        """The SASL password, from the setting or its file (read when a client is made, so it can be rotated)."""
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        if self.sasl_password_file is not None:
            return self.sasl_password_file.read_text(encoding="utf-8").strip()
        return ""

    def topic(self, logical: str) -> str:
        if logical not in TOPICS:
            raise KeyError(f"unknown topic {logical!r}; known: {', '.join(TOPICS)}")
        return f"{self.topic_prefix}{logical}"


class ClickHouseSettings(BaseModel):
    dsn: str = Field(
        default="",
        description="chdb:///path (embedded, the default under data_dir) or http(s)://user:pw@host:port/db",
    )
    database: str = "gridwatch"

    @field_validator("dsn")
    @classmethod
    def _known_scheme(cls, dsn: str) -> str:
        """Refused at start-up, in one line, instead of by the sink's first write."""
        if dsn and not dsn.startswith(("chdb://", "http://", "https://")):
            raise ValueError("unsupported scheme: use chdb:///path, http://... or https://...")
        return dsn

    batch_rows: int = Field(default=5_000, ge=1, description="Flush when this many rows wait.")
    flush_seconds: float = Field(default=1.0, gt=0, description="Flush at least this often.")
    retry_seconds: float = Field(default=2.0, gt=0, description="Back-off after a failed flush.")
    buffer_rows: int = Field(
        default=200_000, ge=1,
        description="Rows the worker keeps in memory while ClickHouse is failing (alerts flow on meanwhile); "
                    "beyond that it stops taking events until writes succeed again.")
    refuse_writes_while: Path | None = Field(
        default=None,
        description="Fault drills only: while this file exists, every ClickHouse write fails as if the store "
                    "were down (gridwatch chaos clickhouse-outage).")


class RuleSettings(BaseModel):
    file: Path | None = Field(
        default=None,
        description="Rule catalogue (YAML, see streams/catalogue.py); None is the one shipped with the package.",
    )


class StreamSettings(BaseModel):
    """How the events agent takes records: larger takes amortise Faust's per-record cost, ``take_within`` caps the
    delay a quiet stream adds before an event is judged."""

    take_records: int = Field(default=500, ge=1, description="At most this many uploads per take.")
    take_within: float = Field(default=0.01, gt=0,
                               description="Seconds a busy worker's take fills before it is judged.")
    adaptive_take: bool = Field(
        default=False,
        description="An upload reaching an idle worker is judged at once, a busy worker's are taken for take_within "
                    "(streams/agents/take.py). Off by default: it halved the idle probe's p50 but doubled p99 at "
                    "1,000 events/s offered (bench-results/pairs-2026-12-07f/); False: Faust's take.",
    )
    stall_after_s: float = Field(
        default=60.0, gt=0,
        description="A partition with records waiting whose committed offset has not moved this long is stalled: "
                    "the worker logs where every task waits and gridwatch_partition_stalled pages.",
    )
    stop_within_s: float = Field(
        default=60.0, gt=0,
        description="A worker told to stop (SIGTERM, Ctrl-C) that is still stopping this long after exits at once "
                    "with status 75, as if killed (streams/stopping.py): with the broker gone, its final commit "
                    "would wait for a coordinator for good.",
    )
    in_process: bool = Field(
        default=True,
        description="Judge and fold findings in the events agent where this worker owns the partition; False sends "
                    "every hand-over through rule-input and findings, as to another worker (to compare, and to test "
                    "that path on one worker).",
    )
    table_store: Literal["rocksdb", "memory"] = Field(
        default="rocksdb",
        description="Where the rule-state and alert-book tables keep their values: a RocksDB under the worker's "
                    "directory, rebuilt from the changelogs at every start (streams/agents/tablestore.py), or "
                    "Faust's in-memory store (every value on the heap: 1.2 GB RSS at 1,000,000 residents).",
    )
    gc_freeze: bool = Field(
        default=True,
        description="Freeze what survives each full garbage collection (streams/gcpause.py), so the next one does "
                    "not walk the whole long-lived heap while every event waits.",
    )
    gc_thresholds: tuple[int, int, int] = Field(
        default=(50_000, 20, 20),
        description="The collector's generation thresholds (gc.set_threshold): allocations before a young "
                    "collection, young collections before a middle one, middle before a full one. CPython's "
                    "700/10/10 cost the worker 32 to 67 µs an event; most of what an event allocates is freed "
                    "by reference counting before a young collection this size comes round (streams/gcpause.py).",
    )
    gc_unfreeze_every_s: float = Field(
        default=3600.0, ge=0,
        description="Hand the frozen objects back to the collector this often, so a reference cycle among them is "
                    "freed after all; 0 never does.",
    )


class AlertSettings(BaseModel):
    repeat_interval_s: float = Field(
        default=30.0, ge=0,
        description="At most one plain repeat revision per alert this often (the count always exact, the held "
                    "repeats published when due or with the alert's next change); 0 publishes every repeat.",
    )


class MetricsSettings(BaseModel):
    port: int = Field(default=9464, ge=0, le=65535, description="0 disables the endpoint.")
    host: str = "127.0.0.1"


class RetentionSettings(BaseModel):
    """How long personal data is kept, per class (the README's retention policy); 0 keeps it for good.

    Kafka: ``retention.ms`` of the delete-policy topics the project creates (set at creation, and brought in line
    at every start). ClickHouse: a TTL on each table, counted from when a row was stored (``inserted_at``), not
    from its event time, so a replayed backlog is kept as long as live data.
    """

    events_days: float = Field(default=28, ge=0, description="Raw and enriched events (topics and table).")
    alerts_days: float = Field(default=180, ge=0, description="Alerts, their history and operators' actions: "
                                                              "longer, for accountability.")
    dead_letters_days: float = Field(default=28, ge=0, description="Dead letters (sealed originals).")

    def topic_days(self) -> dict[str, float]:
        return {"events": self.events_days, "enriched-events": self.events_days, "alerts": self.alerts_days,
                "alert-actions": self.alerts_days, "dead-letters": self.dead_letters_days}

    def person_key_days(self) -> float:
        """How long a retired person-key secret keys data still held: the longest retention of a class holding
        person keys (0: one of them is kept for good)."""
        days = (self.events_days, self.alerts_days)
        return 0 if 0 in days else max(days)

    def table_days(self) -> dict[str, float]:
        return {"enriched_events": self.events_days, "alerts": self.alerts_days, "alert_history": self.alerts_days}


class ConsoleSettings(BaseModel):
    """The command post's console (``streams/console``)."""

    port: int = Field(default=8464, ge=1, le=65535)
    host: str = Field(default="127.0.0.1", description="Where it listens; put a TLS proxy in front beyond localhost.")
    in_worker: bool = Field(
        default=False,
        description="Serve the console from the worker's process: with the embedded chDB store (one process per "
                    "data directory) that is how it reads ClickHouse. gridwatch demo turns it on.")
    operators_file: Path | None = Field(default=None, description="Accounts; None: data_dir/console/operators.json.")
    audit_file: Path | None = Field(default=None, description="Audit trail; None: data_dir/console/audit.jsonl.")
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs session cookies (at least 16 bytes); None: a random one kept in "
                    "data_dir/console/session.key, made on first start.")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7, description="A login lasts this long (a shift).")


DEV_PERSON_KEY_SECRET = "gridwatch-dev-only"  # noqa: S105 (the documented dev-only default)


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_key_secret: SecretStr = Field(
        default=SecretStr(DEV_PERSON_KEY_SECRET),
        description="HMAC key for pseudonymous person keys; set a real secret in production.",
    )
    person_keyring_file: Path | None = Field(
        default=None,
        description="Or a ring of rotatable secrets in this file (then leave person_key_secret unset), made and "
                    "rotated by `gridwatch keys`; `gridwatch purge` destroys it with the data.")
    person_key_link_days: float = Field(
        default=7, gt=0,
        description="After a rotation, how long a person's new key is linked to their old one in the worker, so "
                    "rule state and open alerts carry over; longer than any rule's window.")
    dead_letter_key_file: Path | None = Field(
        default=None,
        description="AES-256 key (hex) sealing dead letters' originals, kept outside Kafka and ClickHouse; None: "
                    "data_dir/keys/dead-letters.key, made on first start. Every worker needs the same file.")

    @model_validator(mode="after")
    def _one_source_of_the_person_key_secret(self) -> PrivacySettings:
        if (self.person_keyring_file is not None
                and self.person_key_secret.get_secret_value() != DEV_PERSON_KEY_SECRET):
            raise ValueError("set person_key_secret or person_keyring_file, not both")
        return self

    def person_keys(self, clock: Callable[[], datetime] | None = None) -> PersonKeys:
        """The person keys every process of a deployment must derive alike (worker, publishers, console)."""
        link_for = timedelta(days=self.person_key_link_days)
        if self.person_keyring_file is None:
            return PersonKeys(secret=self.person_key_secret.get_secret_value().encode(), link_for=link_for)
        ring = read_keyring(self.person_keyring_file)
        if clock is None:
            return PersonKeys(secrets=ring, link_for=link_for)
        return PersonKeys(secrets=ring, link_for=link_for, clock=clock)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRIDWATCH_", env_nested_delimiter="__", extra="forbid"
    )

    app_id: str = "gridwatch"
    data_dir: Path = REPO_ROOT / ".data"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    rules: RuleSettings = RuleSettings()
    stream: StreamSettings = StreamSettings()
    alerts: AlertSettings = AlertSettings()
    metrics: MetricsSettings = MetricsSettings()
    console: ConsoleSettings = ConsoleSettings()
    retention: RetentionSettings = RetentionSettings()
    privacy: PrivacySettings = PrivacySettings()

    @model_validator(mode="after")
    def _refuse_unknown_variables(self) -> Settings:
        """A misspelt ``GRIDWATCH_`` variable would otherwise be ignored (pydantic-settings drops unknown nested
        ones), leaving the default in force without a word."""
        known = set()
        for name in type(self).model_fields:
            known.add(f"GRIDWATCH_{name.upper()}")
            section = getattr(self, name)
            if isinstance(section, BaseModel):
                known |= {f"GRIDWATCH_{name.upper()}__{field.upper()}" for field in type(section).model_fields}
        unknown = sorted(k for k in os.environ if k.upper().startswith("GRIDWATCH_") and k.upper() not in known)
        if unknown:
            raise ValueError(f"unknown settings in the environment: {', '.join(unknown)}")
        return self

    def internal_topic(self, logical: str) -> str:
        if logical not in INTERNAL_TOPICS:
            raise KeyError(f"unknown internal topic {logical!r}; known: {', '.join(INTERNAL_TOPICS)}")
        return f"{self.kafka.topic_prefix}{self.app_id}.{logical}"

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse.dsn or f"chdb://{self.data_dir / 'clickhouse'}"

    @property
    def dead_letter_key_file(self) -> Path:
        return self.privacy.dead_letter_key_file or self.data_dir / "keys" / "dead-letters.key"

    @property
    def worker_dir(self) -> Path:
        return self.data_dir / "worker"
