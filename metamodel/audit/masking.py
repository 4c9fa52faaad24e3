"""Masking of sensitive values before they reach the audit log: the clear value is never stored."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from metamodel.definitions import FieldDef

MASK = "***"
REDACTED = "[redacted]"
# Fields and detail keys named like credentials are never logged, not even partly.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "totp")


@lru_cache(maxsize=4096)  # asked per field of every audited record: a handful of names, over and over
def is_secret(name: str) -> bool:
    """Whether a field or key name looks like a credential."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def is_sensitive(definition: FieldDef) -> bool:
    """Whether the field definition marks its values as personal or confidential."""
    return bool(definition.get("sensitive")) or is_secret(definition.name)


def mask_value(definition: FieldDef, value: Any) -> Any:
    """Return ``value`` as the audit log may keep it: masked when the field is sensitive."""
    if value is None or not is_sensitive(definition):
        return value
    if is_secret(definition.name):
        return REDACTED
    return mask_text(definition.type, value)


def mask_text(kind: str, value: Any) -> str:
    """Return a partial view of a text value (138****1234, a***@x.com); other values become ***."""
    if not isinstance(value, str) or not value:
        return MASK
    if kind == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) >= 8:
        # Phone and ID numbers: enough to recognise the value, not enough to use it.
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


def redact_secrets(details: Any) -> Any:
    """Return JSON-like ``details`` with the values of credential-like keys replaced."""
    if isinstance(details, Mapping):
        return {str(k): REDACTED if is_secret(str(k)) else redact_secrets(v) for k, v in details.items()}
    if isinstance(details, list | tuple):
        return [redact_secrets(item) for item in details]
    return details
