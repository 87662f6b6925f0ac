"""The keyring file and its life: made, rotated, destroyed only once the data it keyed has expired."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.cli import main
from streams.keyring import KeyringError, destroy, due_at, new_ring, read_keyring, rotate, write_keyring
from streams.settings import Settings

T0 = datetime(2020, 2, 1, tzinfo=UTC)
KEEP = timedelta(days=180)


def test_rotation_retires_the_current_secret_and_makes_a_new_one_current(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "person-keys.json"
    write_keyring(path, new_ring(T0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = rotate(read_keyring(path), T0 + timedelta(days=30))
    write_keyring(path, ring)
    back = read_keyring(path)
    assert [(s.id, s.retired) for s in back] == [("k1", T0 + timedelta(days=30)), ("k2", None)]
    assert back[0].value != back[1].value and len(back[1].value) == 32
    assert not path.with_name(path.name + ".new").exists()


def test_a_retired_secret_is_destroyed_only_once_its_data_has_expired_unless_forced() -> None:
    ring = rotate(new_ring(T0), T0 + timedelta(days=30))
    retired = T0 + timedelta(days=30)
    assert due_at(ring[0], KEEP) == retired + KEEP and due_at(ring[1], KEEP) is None
    assert due_at(ring[0], None) is None  # data kept for good: never due
    early = retired + KEEP - timedelta(days=1)
    assert destroy(ring, [], now=early, keep_for=KEEP) == ring  # nothing due yet
    with pytest.raises(KeyringError, match="still keys data"):
        destroy(ring, ["k1"], now=early, keep_for=KEEP)
    assert [s.id for s in destroy(ring, ["k1"], now=early, keep_for=KEEP, force=True)] == ["k2"]
    assert [s.id for s in destroy(ring, [], now=retired + KEEP, keep_for=KEEP)] == ["k2"]
    with pytest.raises(KeyringError, match="current"):
        destroy(ring, ["k2"], now=retired + KEEP, keep_for=KEEP, force=True)
    with pytest.raises(KeyringError, match="no secret k9"):
        destroy(ring, ["k9"], now=retired + KEEP, keep_for=KEEP)


def test_a_missing_or_broken_keyring_is_refused_with_what_to_do_and_no_secret_in_the_message(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="gridwatch keys init"):
        read_keyring(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"secrets": [{"id": "k1", "secret": "not hex: s3cret", "created": "2020-02-01"}]}')
    with pytest.raises(KeyringError, match="not readable") as caught:
        read_keyring(broken)
    assert "s3cret" not in str(caught.value)


def test_the_keys_command_makes_rotates_lists_and_destroys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "person-keys.json"
    monkeypatch.setenv("GRIDWATCH_PRIVACY__PERSON_KEYRING_FILE", str(path))
    assert main(["keys", "init"]) == 0
    assert main(["keys", "init"]) == 2  # never over an existing ring
    first = Settings().privacy.person_keys().key("330822198001010011")
    assert main(["keys", "rotate"]) == 0
    assert "k1 retired, linked until" in capsys.readouterr().out
    keys = Settings().privacy.person_keys()
    assert keys.key("330822198001010011").startswith("k2.") and keys.links("330822198001010011") == (first,)
    assert main(["keys", "destroy", "k1"]) == 2  # its data is still kept
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "current" in listed and "linked until" in listed
    assert keys.current.value.hex() not in listed
    assert main(["keys", "destroy", "k1", "--force"]) == 0
    assert [s.id for s in read_keyring(path)] == ["k2"]
