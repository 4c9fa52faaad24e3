"""AES-256-GCM keys by id and the HMAC-SHA256 search-hash key; we only call the cryptography package."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12


class KeyringError(ValueError):
    """A key setting is malformed or a stored value cannot be decrypted; the message names no secret."""


def generate_key() -> str:
    """Return a new random 256-bit key, base64-encoded."""
    return base64.b64encode(os.urandom(32)).decode()


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not valid base64") from None
    if len(key) != 32:
        raise KeyringError(f"{what} must be 32 bytes (256 bits) once base64-decoded, not {len(key)}")
    return key


class Keyring:
    """Encryption keys by id (the first one encrypts, all decrypt) and the search-hash key."""

    def __init__(self, keys: list[tuple[str, bytes]], search_key: bytes | None = None) -> None:
        if not keys:
            raise KeyringError("at least one encryption key is needed")
        self.current = keys[0][0]
        self._ciphers = {kid: AESGCM(key) for kid, key in keys}
        self._search_key = search_key

    @classmethod
    def parse(cls, keys: str, search_key: str | None = None) -> Keyring:
        """Build a keyring from ``kid1:base64key,kid0:base64oldkey`` and a base64 search-hash key."""
        pairs: list[tuple[str, bytes]] = []
        for position, item in enumerate(part for part in keys.split(",") if part.strip()):
            kid, sep, encoded = item.strip().partition(":")
            if not sep or not _KID.match(kid):
                raise KeyringError(
                    f"CRM_ENCRYPTION_KEYS entry {position + 1} must look like <key id>:<base64 key> "
                    "(key id: letters, digits, - and _)"
                )
            if any(kid == seen for seen, _ in pairs):
                raise KeyringError(f"CRM_ENCRYPTION_KEYS names key id '{kid}' twice")
            pairs.append((kid, _decode_key(encoded, f"CRM_ENCRYPTION_KEYS key '{kid}'")))
        search = _decode_key(search_key, "CRM_SEARCH_HASH_KEY") if search_key else None
        return cls(pairs, search)

    @property
    def key_ids(self) -> list[str]:
        """Return every key id, the current one first."""
        return list(self._ciphers)

    @property
    def can_hash(self) -> bool:
        """Whether a search-hash key is configured."""
        return self._search_key is not None

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        """Return ``v1:<kid>:<base64 nonce+ciphertext+tag>`` under the current key."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(nonce, plaintext, aad)
        return f"{FORMAT}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, aad: bytes) -> bytes:
        """Return the plaintext of a stored value; KeyringError when the key is unknown or it was tampered with."""
        kid = key_id_of(stored)
        cipher = self._ciphers.get(kid or "")
        if cipher is None:
            raise KeyringError(
                f"a stored value is encrypted under key '{kid}', which CRM_ENCRYPTION_KEYS does not hold"
                if kid
                else "a stored value of a sensitive field is not encrypted; run `crm rotate-key`"
            )
        try:
            blob = base64.b64decode(stored.split(":", 2)[2], validate=True)
            return cipher.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
        except (InvalidTag, binascii.Error, ValueError):
            raise KeyringError(
                "a stored value failed its integrity check (wrong key, column or tampering)"
            ) from None

    def search_hash(self, text: str, aad: bytes) -> str:
        """Return the hex HMAC-SHA256 of a normalised value, bound to its field by ``aad``."""
        if self._search_key is None:
            raise KeyringError("CRM_SEARCH_HASH_KEY is not configured")
        return hmac.new(self._search_key, aad + b"\x00" + text.encode(), hashlib.sha256).hexdigest()


def key_id_of(stored: str) -> str | None:
    """Return the key id of a stored ciphertext, or None when the text is not one."""
    parts = stored.split(":", 2)
    if len(parts) == 3 and parts[0] == FORMAT and _KID.match(parts[1]):
        return parts[1]
    return None
