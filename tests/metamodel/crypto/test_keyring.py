"""The keyring: AES-256-GCM under key ids, associated data, tampering, parsing and search hashes."""

from __future__ import annotations

import base64

import pytest

from metamodel.crypto.keyring import Keyring, KeyringError, generate_key, key_id_of
from tests.metamodel.crypto.cryptosupport import KEY_NEW, KEY_OLD, SEARCH_KEY, keyring


def test_values_round_trip_under_the_current_key_with_a_fresh_nonce() -> None:
    ring = keyring(f"k1:{KEY_NEW},k0:{KEY_OLD}")
    first, second = ring.encrypt(b"13812345678", b"e/f"), ring.encrypt(b"13812345678", b"e/f")
    assert first.startswith("v1:k1:") and key_id_of(first) == "k1"
    assert first != second  # a random nonce each time: equal values do not look equal
    assert "13812345678" not in first
    assert ring.decrypt(first, b"e/f") == ring.decrypt(second, b"e/f") == b"13812345678"


def test_old_keys_still_decrypt() -> None:
    old = keyring(f"k0:{KEY_OLD}").encrypt(b"secret", b"e/f")
    assert keyring(f"k1:{KEY_NEW},k0:{KEY_OLD}").decrypt(old, b"e/f") == b"secret"
    with pytest.raises(KeyringError, match="key 'k0'"):
        keyring(f"k1:{KEY_NEW}").decrypt(old, b"e/f")


def test_associated_data_binds_the_value_to_its_field() -> None:
    ring = keyring()
    stored = ring.encrypt(b"secret", b"entity/phone")
    with pytest.raises(KeyringError, match="integrity"):
        ring.decrypt(stored, b"entity/email")


def test_tampered_and_unencrypted_values_are_refused() -> None:
    ring = keyring()
    stored = ring.encrypt(b"secret", b"e/f")
    blob = bytearray(base64.b64decode(stored.split(":", 2)[2]))
    blob[-1] ^= 1
    with pytest.raises(KeyringError, match="integrity"):
        ring.decrypt("v1:k0:" + base64.b64encode(bytes(blob)).decode(), b"e/f")
    with pytest.raises(KeyringError, match="not encrypted"):
        ring.decrypt("plain text", b"e/f")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nokey", "must look like"),
        ("k 1:" + KEY_OLD, "must look like"),  # fixed keys: ids stay equal across xdist workers
        ("k1:not-base64!", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        (f"k1:{KEY_OLD},k1:{KEY_NEW}", "twice"),
        ("", "at least one"),
    ],
)
def test_malformed_key_settings_are_refused_without_echoing_keys(spec: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as caught:
        Keyring.parse(spec)
    assert KEY_OLD not in str(caught.value) and KEY_NEW not in str(caught.value)


def test_search_hashes_are_deterministic_per_field() -> None:
    ring = keyring()
    assert ring.search_hash("a@x.com", b"e/email") == keyring().search_hash("a@x.com", b"e/email")
    assert ring.search_hash("a@x.com", b"e/email") != ring.search_hash("a@x.com", b"e/other")
    assert ring.search_hash("a@x.com", b"e/email") != keyring(search=generate_key()).search_hash(
        "a@x.com", b"e/email"
    )
    assert Keyring.parse(f"k0:{KEY_OLD}").can_hash is False
    with pytest.raises(KeyringError, match="CRM_SEARCH_HASH_KEY"):
        Keyring.parse(f"k0:{KEY_OLD}").search_hash("x", b"e/f")
    assert keyring(search=SEARCH_KEY).can_hash
