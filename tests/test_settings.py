"""The one settings object: what a child process is given is what it builds, and unknown settings are refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from streams.keyring import new_ring, read_keyring, write_keyring
from streams.privacy import PersonKeys
from streams.process import settings_env
from streams.settings import Settings


def test_a_child_built_from_settings_env_has_every_setting_of_its_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = Settings(app_id="a1", log_level="debug", kafka={"partitions": 3, "fetch_max_wait_ms": 25},
                      clickhouse={"flush_seconds": 0.2},
                      stream={"in_process": False, "take_records": 7, "gc_thresholds": (2000, 20, 30)},
                      metrics={"port": 1234}, privacy={"person_key_secret": SecretStr("s3cret")})
    for key, value in settings_env(parent, base={}).items():
        monkeypatch.setenv(key, value)
    child = Settings()
    assert child == parent
    assert child.privacy.person_key_secret.get_secret_value() == "s3cret"


def test_the_person_keys_come_from_the_keyring_file_and_a_second_source_is_refused(tmp_path: Path) -> None:
    ring = tmp_path / "person-keys.json"
    write_keyring(ring, new_ring(datetime(2020, 2, 1, tzinfo=UTC)))
    from_file = Settings(privacy={"person_keyring_file": ring}).privacy.person_keys()
    assert from_file.key("330822198001010011") == PersonKeys(secrets=read_keyring(ring)).key("330822198001010011")
    assert from_file.key("330822198001010011").startswith("k1.")
    assert from_file.key("330822198001010011") != Settings().privacy.person_keys().key("330822198001010011")
    with pytest.raises(ValidationError, match="not both"):
        Settings(privacy={"person_keyring_file": ring, "person_key_secret": SecretStr("another")})
    with pytest.raises(ValidationError):  # the setting of before keyrings is refused, not ignored
        Settings(privacy={"person_key_secret_file": ring})


def test_an_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_STREAM__IN_PROCES", "false")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("dsn", ["mysql://host/db", "/var/lib/clickhouse", "chdb:/missing-slash"])
def test_a_clickhouse_dsn_with_an_unsupported_scheme_is_refused_at_start_up(dsn: str) -> None:
    with pytest.raises(ValidationError, match="unsupported scheme"):
        Settings(clickhouse={"dsn": dsn})


@pytest.mark.parametrize("dsn", ["", "chdb:///tmp/ch", "http://u:p@h:8123", "https://h:8443/db"])
def test_the_supported_clickhouse_dsns_are_taken(dsn: str) -> None:
    assert Settings(clickhouse={"dsn": dsn}).clickhouse.dsn == dsn


def test_a_worker_without_a_broker_says_so_in_one_line_and_exits_non_zero() -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
        env |= {"GRIDWATCH_KAFKA__CONNECT_WAIT_S": "1", "GRIDWATCH_METRICS__PORT": "0"}
        done = subprocess.run([sys.executable, "-m", "streams.cli", "--bootstrap", f"127.0.0.1:{port}", "worker"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"gridwatch worker: no Kafka broker at 127.0.0.1:{port} after 1s; "
        "start one with `make broker` or set GRIDWATCH_KAFKA__BOOTSTRAP"]
