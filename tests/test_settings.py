"""The one settings object: what a child process is given is what it builds, and unknown settings are refused."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from streams.process import settings_env
from streams.settings import Settings


def test_a_child_built_from_settings_env_has_every_setting_of_its_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = Settings(app_id="a1", log_level="debug", kafka={"partitions": 3, "fetch_max_wait_ms": 25},
                      clickhouse={"flush_seconds": 0.2}, stream={"in_process": False, "take_records": 7},
                      metrics={"port": 1234}, privacy={"person_key_secret": SecretStr("s3cret")})
    for key, value in settings_env(parent, base={}).items():
        monkeypatch.setenv(key, value)
    child = Settings()
    assert child == parent
    assert child.privacy.person_key_secret.get_secret_value() == "s3cret"


def test_an_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_STREAM__IN_PROCES", "false")
    with pytest.raises(ValidationError):
        Settings()
