"""Choice field types: boolean, select and multi-select."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import Boolean, Text, and_, or_, type_coerce
from sqlalchemy.types import TypeEngine

from metamodel.coltypes import PipeList
from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import (
    EQUALITY_OPERATORS,
    Clause,
    DefinitionContext,
    FieldType,
    ValueProblem,
    _escape_like,
)

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class BooleanType(FieldType):
    """Yes or no."""

    type = "boolean"
    groupable = True
    widget = "checkbox"
    operators = ("eq", "ne", "isnull")

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return Boolean()

    def column_signature(self, field: FieldDef) -> str:
        return "bool"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueProblem("must be true or false", "type")

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"type": "boolean"}

    def from_form(self, field: FieldDef, values: list[str]) -> Any:
        # An unchecked checkbox posts nothing; a hidden "0" precedes the box so the last value wins.
        return values[-1] if values else False

    def is_empty(self, value: Any) -> bool:
        return value is None


_CHOICE_PROPS = {
    "options": {
        "type": "array",
        "minItems": 1,
        "maxItems": 500,
        "items": {
            "type": "object",
            "required": ["value"],
            "additionalProperties": False,
            "properties": {
                "value": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^|]+$"},
                "label": {"$ref": "#/$defs/labels"},
                "color": {"type": "string", "maxLength": 20},
            },
        },
    }
}


class SelectType(FieldType):
    """One value out of a list of options."""

    type = "select"
    groupable = True
    widget = "select"
    operators = EQUALITY_OPERATORS
    definition_properties: ClassVar[dict[str, Any]] = _CHOICE_PROPS

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return Text()

    def column_signature(self, field: FieldDef) -> str:
        return "text"

    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        values = [str(choice.get("value")) for choice in field.choices]
        if not values:
            yield "options", "a choice field needs at least one option"
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            yield "options", f"option values must be unique; repeated: {', '.join(duplicates)}"
        default = field.get("default")
        if default is not None:
            for value in default if isinstance(default, list) else [default]:
                if value not in values:
                    yield "default", f"default {value!r} is not one of the options ({', '.join(values)})"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise ValueProblem("must be one of the option values", "type")
        allowed = [choice.get("value") for choice in field.choices]
        if raw not in allowed:
            raise ValueProblem(f"must be one of: {', '.join(map(str, allowed))}", "choice")
        return raw

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {"type": "string", "enum": [str(choice.get("value")) for choice in field.choices]}


class MultiSelectType(SelectType):
    """Several values out of a list of options, stored as ``|a|b|`` so filters stay in SQL."""

    type = "multi_select"
    groupable = False  # a record with several options would count in several groups
    measures = ()
    widget = "multi_select"
    operators = ("has_any", "has_all", "isnull")
    sortable = False

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None or raw == "" or raw == []:
            return None
        items = raw if isinstance(raw, list) else [part.strip() for part in str(raw).split(",")]
        chosen: list[str] = []
        for item in items:
            value = SelectType.prepare(self, field, item)
            if value is not None and value not in chosen:
                chosen.append(value)
        order = [choice.get("value") for choice in field.choices]
        return sorted(chosen, key=order.index) or None

    def from_form(self, field: FieldDef, values: list[str]) -> Any:
        return [v for v in values if v != ""]

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        # Read back as a list (empty when none); sent as a non-empty list, or null to clear.
        items = SelectType.json_schema(self, field, output=output)
        return (
            {"type": "array", "items": items} if output else {"type": "array", "items": items, "minItems": 1}
        )

    def serialize(self, field: FieldDef, value: Any) -> Any:
        return list(value) if value else []

    def to_text(self, field: FieldDef, value: Any) -> str:
        return ", ".join(value or [])

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return PipeList()

    def column_signature(self, field: FieldDef) -> str:
        return "pipelist"

    def filter_value(self, field: FieldDef, op: str, raw: Any) -> Any:
        if op == "isnull":
            return super().filter_value(field, op, raw)
        values = self.prepare(field, raw)
        if not values:
            raise ValueProblem(f"{op} takes at least one option value")
        return values

    def filter_clause(self, field: FieldDef, column: Any, op: str, value: Any) -> Clause:
        if op == "isnull":
            return super().filter_clause(field, column, op, value)
        # Compare against the raw stored text, bypassing the list conversion of the column type.
        raw_column = type_coerce(column, Text())
        parts = [raw_column.like(f"%|{_escape_like(v)}|%", escape="\\") for v in value]
        return or_(*parts) if op == "has_any" else and_(*parts)
