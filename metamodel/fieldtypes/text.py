"""Text-like field types: text, long text, email, phone and URL."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import Text
from sqlalchemy.types import TypeEngine

from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import (
    TEXT_OPERATORS,
    DefinitionContext,
    FieldType,
    ValueProblem,
)

_LENGTH_PROPS = {
    "min_length": {"type": "integer", "minimum": 0},
    "max_length": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    "pattern": {"type": "string", "maxLength": 500},
}


class TextType(FieldType):
    """Single-line text."""

    type = "text"
    widget = "text"
    operators = TEXT_OPERATORS
    definition_properties: ClassVar[dict[str, Any]] = _LENGTH_PROPS
    default_max_length = 255
    multiline = False
    # What the canonical input looks like: no surrounding blanks (they are stripped), no line breaks.
    input_pattern = r"^[^\s\x00]([^\r\n\x00]*[^\s\x00])?$"

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return Text()

    def column_signature(self, field: FieldDef) -> str:
        return "text"

    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        pattern = field.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                yield "pattern", f"pattern is not a valid regular expression: {exc}"
                return
        low, high = field.get("min_length"), field.get("max_length")
        if low is not None and high is not None and low > high:
            yield "min_length", "min_length is greater than max_length"
        yield from super().check_definition(field, ctx)

    def normalize(self, text: str) -> str:
        """Return the canonical form of accepted text (subclasses tidy e-mails and phones)."""
        return text

    def check_format(self, field: FieldDef, text: str) -> None:
        """Raise ValueProblem when ``text`` is not of the type's format."""

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise ValueProblem("must be text", "type")
        text = str(raw)
        if not self.multiline:
            text = text.strip()
            if "\n" in text or "\r" in text:
                raise ValueProblem("must be a single line", "format")
        if text == "":
            return None
        if "\x00" in text:
            raise ValueProblem("must not contain NUL characters", "format")
        if not text.isascii() and not _encodable(text):
            # JSON may carry a lone surrogate (\ud800); no database can store it as text.
            raise ValueProblem("must not contain unpaired surrogate characters", "format")
        text = self.normalize(text)
        max_length = field.get("max_length") or self.default_max_length
        if len(text) > max_length:
            raise ValueProblem(f"must be at most {max_length} characters", "max_length")
        min_length = field.get("min_length")
        if min_length and len(text) < min_length:
            raise ValueProblem(f"must be at least {min_length} characters", "min_length")
        pattern = field.get("pattern")
        if pattern and not re.fullmatch(pattern, text):
            raise ValueProblem(f"does not match the required pattern {pattern}", "pattern")
        self.check_format(field, text)
        return text

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        if output:
            return {"type": "string"}
        schema: dict[str, Any] = {
            "type": "string",
            "minLength": max(1, int(field.get("min_length") or 0)),
            "maxLength": int(field.get("max_length") or self.default_max_length),
        }
        own = field.get("pattern")
        schema["pattern"] = f"^(?:{own})$" if own else self.input_pattern
        return schema

    def filter_value(self, field: FieldDef, op: str, raw: Any) -> Any:
        # A fragment of a value cannot pass the format, pattern or length checks of a whole value.
        if op in ("contains", "startswith"):
            text = raw.strip() if isinstance(raw, str) else ""
            if not text or "\x00" in text or not _encodable(text):
                raise ValueProblem(f"{op} takes some text")
            return self.normalize(text)[:1000]
        return super().filter_value(field, op, raw)


class LongTextType(TextType):
    """Multi-line text."""

    type = "long_text"
    widget = "textarea"
    default_max_length = 100_000
    multiline = True
    input_pattern = r"^[^\x00]+$"


class EmailType(TextType):
    """An e-mail address, stored lower-cased in its domain part."""

    type = "email"
    widget = "email"
    input_pattern = r"^[^@\s\x00]+@[^@\s\x00.]+\.[^@\s\x00]+$"
    _RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def normalize(self, text: str) -> str:
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if local else text

    def check_format(self, field: FieldDef, text: str) -> None:
        if not self._RE.match(text):
            raise ValueProblem("is not a valid e-mail address", "format")


class PhoneType(TextType):
    """A phone number: digits with an optional leading +; spaces and dashes are removed."""

    type = "phone"
    widget = "tel"
    input_pattern = r"^\+?[0-9]{3,20}$"
    _RE = re.compile(r"^\+?[0-9]{3,20}$")

    def normalize(self, text: str) -> str:
        return re.sub(r"[\s\-().]", "", text)

    def check_format(self, field: FieldDef, text: str) -> None:
        if not self._RE.match(text):
            raise ValueProblem("is not a valid phone number", "format")


class UrlType(TextType):
    """An http or https URL."""

    type = "url"
    widget = "url"
    default_max_length = 2000
    input_pattern = r"^https?://[A-Za-z0-9][A-Za-z0-9./?=&%_~-]*$"
    _RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

    def check_format(self, field: FieldDef, text: str) -> None:
        if not self._RE.match(text):
            raise ValueProblem("must be an http:// or https:// address", "format")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
