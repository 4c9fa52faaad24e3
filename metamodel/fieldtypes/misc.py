"""Free-form JSON and file attachments."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger
from sqlalchemy.types import TypeEngine

from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import FieldType, ValueProblem
from metamodel.fieldtypes.relation import parse_record_id

MAX_JSON_BYTES = 64 * 1024


class JsonType(FieldType):
    """Free-form JSON extension data (not filterable; use typed fields for what you query)."""

    type = "json"
    measures = ()
    widget = "json"
    sortable = False
    operators = ("isnull",)

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        # An empty value is SQL NULL (not the JSON text 'null'), so the isnull filter finds it.
        return JSON(none_as_null=True)

    def column_signature(self, field: FieldDef) -> str:
        return "json"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None:
            return None
        try:
            encoded = json.dumps(raw, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError):
            raise ValueProblem("must be JSON data", "type") from None
        if not encoded.isascii():
            try:
                encoded.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (\ud800) is valid JSON text but no export or database text can hold it.
                raise ValueProblem("must not contain unpaired surrogate characters", "format") from None
        if len(encoded.encode("utf-8")) > MAX_JSON_BYTES:
            raise ValueProblem(f"must be at most {MAX_JSON_BYTES} bytes of JSON", "max_length")
        return raw

    def from_form(self, field: FieldDef, values: list[str]) -> Any:
        text = (values[-1] if values else "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueProblem(f"is not valid JSON: {exc.msg} at line {exc.lineno}", "type") from None

    def to_text(self, field: FieldDef, value: Any) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False)

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"description": "any JSON value"}

    def convert(self, field: FieldDef, old_field: FieldDef, old_type: FieldType, value: Any) -> Any:
        if value is None:
            return None
        return self.prepare(field, old_type.serialize(old_field, value))


class AttachmentType(FieldType):
    """A file stored by the attachment store; the column holds the attachment's id."""

    type = "attachment"
    measures = ()
    widget = "attachment"
    sortable = False
    operators = ("isnull",)
    default_max_size = 10 * 1024 * 1024
    definition_properties: ClassVar[dict[str, Any]] = {
        "max_size": {"type": "integer", "minimum": 1, "maximum": 1024 * 1024 * 1024},
        "accept": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^(\.[A-Za-z0-9]{1,10}|[a-z]+/[a-z0-9.+*-]+)$"},
        },
    }

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return BigInteger()

    def column_signature(self, field: FieldDef) -> str:
        return "attachment"

    def max_size(self, field: FieldDef) -> int:
        """Return the largest accepted file size in bytes."""
        return int(field.get("max_size", self.default_max_size))

    def accepts(self, field: FieldDef, filename: str, content_type: str) -> bool:
        """Whether a file of this name and content type may be attached."""
        accept = field.get("accept")
        if not accept:
            return True
        lowered = filename.lower()
        for rule in accept:
            if rule.startswith(".") and lowered.endswith(rule.lower()):
                return True
            if "/" in rule:
                major, _, minor = rule.partition("/")
                c_major, _, c_minor = content_type.partition("/")
                if major == c_major and minor in ("*", c_minor):
                    return True
        return False

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": "an uploaded file's id"}

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        return parse_record_id(raw)

    def convert(self, field: FieldDef, old_field: FieldDef, old_type: FieldType, value: Any) -> Any:
        if value is not None and old_type.type != "attachment":
            raise ValueProblem("only an attachment can become an attachment")
        return value
