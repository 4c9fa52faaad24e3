"""Mask styles: how a masked field's value is shown (138****1234, a***@x.com, 110***********1234, 王*).

A style is one function registered by name; ``MaskStyles.default()`` holds the built-in ones and a
plugin adds another with ``styles.register(name, function)`` at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metamodel.definitions import FieldDef

STARS = "****"
MaskFunction = Callable[[str], str]

# Field types whose values get a style of their own when a rule names no style.
_TYPE_STYLES = {"phone": "phone", "email": "email"}


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits of the national number (+86 138****1234 for +86 numbers)."""
    text = value.strip()
    prefix = ""
    if text.startswith("+"):
        # Keep the country code readable: "+86 13812341234" -> "+86 138****1234".
        code, sep, rest = text[1:].partition(" ")
        if sep and code.isdigit() and len(code) <= 3:
            prefix, text = f"+{code} ", rest.strip()
        elif text.startswith("+86") and len(text) > 3:
            prefix, text = "+86 ", text[3:].lstrip(" -")
        else:
            prefix, text = "+", text[1:]
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 8:
        return prefix + STARS
    return f"{prefix}{digits[:3]}{STARS}{digits[-4:]}"


def mask_email(value: str) -> str:
    """Keep the first letter of the local part and the domain: a***@x.com."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return STARS
    return f"{local[:1]}***@{domain}"


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters: 110****1234."""
    text = value.strip()
    if len(text) <= 7:
        return STARS
    return f"{text[:3]}{STARS}{text[-4:]}"


def mask_name(value: str) -> str:
    """Keep the first character: 王* for a Chinese name, J*** for a Latin one."""
    text = value.strip()
    if not text:
        return STARS
    first = text[0]
    return f"{first}*" if ord(first) > 0x2E7F else f"{first}***"


def mask_default(value: str) -> str:
    """Hide everything."""
    return STARS


class MaskStyles:
    """The registry of mask styles by name."""

    def __init__(self) -> None:
        self._styles: dict[str, MaskFunction] = {}

    @classmethod
    def default(cls) -> MaskStyles:
        """Return a registry with the built-in styles."""
        styles = cls()
        styles.register("phone", mask_phone)
        styles.register("email", mask_email)
        styles.register("id_number", mask_id_number)
        styles.register("name", mask_name)
        styles.register("default", mask_default)
        return styles

    def register(self, name: str, function: MaskFunction) -> None:
        """Add (or replace) a style."""
        self._styles[name] = function

    def names(self) -> list[str]:
        """Return the registered style names, sorted."""
        return sorted(self._styles)

    def __contains__(self, name: object) -> bool:
        return name in self._styles

    def show(self, name: str, value: str) -> str:
        """Return ``value`` as style ``name`` shows it (the studio previews each pattern on a sample)."""
        return self._styles[name](value)

    def style_for(self, definition: FieldDef, style: str | None = None) -> str:
        """Return the style to use: the rule's, else the field's ``mask`` option, else by type, else default."""
        for candidate in (style, definition.get("mask"), _TYPE_STYLES.get(definition.type)):
            if candidate and candidate in self._styles:
                return str(candidate)
        return "default"

    def apply(self, definition: FieldDef, value: Any, style: str | None = None) -> Any:
        """Return the masked form of ``value`` (None and empty text stay as they are)."""
        if value is None or value == "":
            return value
        function = self._styles[self.style_for(definition, style)]
        return function(value if isinstance(value, str) else str(value))


STYLES = MaskStyles.default()
