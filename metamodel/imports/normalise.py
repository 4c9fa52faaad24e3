"""Normalising key values so duplicates are found despite formatting: phone digits, e-mail case, trimmed names."""

from __future__ import annotations

import re
from typing import Any

from metamodel.definitions import FieldDef

_SPACES = re.compile(r"\s+")
_NOT_DIGITS = re.compile(r"\D+")


def normalise(f: FieldDef, value: Any) -> str:
    """Return the comparable form of a key value ('' when empty)."""
    if value is None:
        return ""
    text = str(value).strip()
    if f.type == "phone":
        digits = _NOT_DIGITS.sub("", text)
        # +86 138..., 0086 138... and 138... are one number; so are a national number with or without 0.
        for prefix in ("00", "0"):
            if digits.startswith(prefix):
                digits = digits[len(prefix) :]
        return digits
    if f.type == "email":
        return text.casefold()
    return _SPACES.sub(" ", text).casefold()
