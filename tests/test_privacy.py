from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest

from streams.idcard import division_of, is_valid, with_check_digit
from streams.privacy import PersonKeys, Secret, mask_id, mask_plate, secret_of
from tests.factories import RESIDENT_ID


def test_mask_id_keeps_division_and_last_four_only() -> None:
    masked = mask_id("330105199203150042")
    assert masked == "330105********0042"
    assert "19920315" not in masked


def test_mask_id_of_malformed_input_reveals_nothing() -> None:
    assert mask_id("12345") == "*****"


def test_mask_plate_hides_the_middle() -> None:
    assert mask_plate("浙H12345") == "浙H***45"
    assert mask_plate("浙H1") == "浙**"


def test_person_key_is_stable_and_depends_on_the_secret() -> None:
    a, b = PersonKeys(secret=b"one"), PersonKeys(secret=b"two")
    assert a.key(RESIDENT_ID) == a.key(RESIDENT_ID.lower())
    assert a.key(RESIDENT_ID) != b.key(RESIDENT_ID)
    assert RESIDENT_ID not in a.key(RESIDENT_ID)
    assert a.key(RESIDENT_ID).startswith("k0.") and len(a.key(RESIDENT_ID)) == 23
    assert secret_of(a.key(RESIDENT_ID)) == "k0" and secret_of("no-secret-named") == ""


def test_person_keys_refuse_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        PersonKeys(secret=b"")


def test_generated_id_numbers_carry_a_valid_check_digit() -> None:
    number = with_check_digit("33010319900101123")
    assert is_valid(number)
    assert division_of(number) == "330103"
    broken = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert not is_valid(broken)


ROTATED = datetime(2020, 3, 1, tzinfo=UTC)


def _ring(now: datetime) -> PersonKeys:
    old = Secret("k1", b"old secret", ROTATED - timedelta(days=40), retired=ROTATED)
    older = Secret("k0", b"older secret", ROTATED - timedelta(days=80), retired=ROTATED - timedelta(days=40))
    return PersonKeys(secrets=(older, old, Secret("k2", b"new secret", ROTATED)), link_for=timedelta(days=7),
                      clock=lambda: now)


def test_a_rotated_ring_keys_new_data_under_the_new_secret_and_links_the_old_key_only_for_a_while() -> None:
    soon = _ring(ROTATED + timedelta(days=1))
    assert secret_of(soon.key(RESIDENT_ID)) == "k2"
    assert soon.links(RESIDENT_ID) == (PersonKeys(secret=b"old secret").key(RESIDENT_ID).replace("k0.", "k1."),)
    assert _ring(ROTATED + timedelta(days=8)).links(RESIDENT_ID) == ()  # past link_for: no link any more
    # every secret held still traces back, the current first; the route is the same whatever the secret
    assert [secret_of(k) for k in soon.every_key(RESIDENT_ID)] == ["k2", "k1", "k0"]
    assert soon.route(RESIDENT_ID) == PersonKeys(secret=b"other").route(RESIDENT_ID)
    assert soon.stamp().startswith("k2:") and "new secret" not in soon.stamp()
    assert soon.stamp() != PersonKeys(secrets=(Secret("k2", b"another", ROTATED),)).stamp()


def test_a_ring_needs_exactly_one_current_secret_with_unique_ids() -> None:
    with pytest.raises(ValueError, match="exactly one current"):
        PersonKeys(secrets=(Secret("k1", b"a", ROTATED, retired=ROTATED),))
    with pytest.raises(ValueError, match="share an id"):
        PersonKeys(secrets=(Secret("k1", b"a", ROTATED, retired=ROTATED), Secret("k1", b"b", ROTATED)))
    with pytest.raises(ValueError, match="k and a number"):
        Secret("key-1", b"a", ROTATED)
    assert "b'a'" not in repr(Secret("k1", b"a", ROTATED))


@pytest.mark.parametrize("secret", [b"s", b"a secret of a usual length, 32 b", bytes(range(64)), b"x" * 65, bytes(200)])
def test_a_person_key_is_the_hmac_sha256_of_the_upper_cased_id_number_under_the_secret(secret: bytes) -> None:
    keys = PersonKeys(secret=secret)
    for id_number in (RESIDENT_ID, RESIDENT_ID.lower(), "11010519491231002X"):
        expected = hmac.digest(secret, id_number.upper().encode("ascii"), "sha256").hex()[:20]
        assert keys.key(id_number) == f"k0.{expected}"
