"""Field types that relate records: link (many-to-one) and child table (one-to-many lines)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeEngine

from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import DefinitionContext, FieldType, ValueProblem

ON_DELETE = ("restrict", "set_null", "cascade")


def parse_record_id(raw: Any) -> int | None:
    """Return a positive record id from JSON or form input, or None when empty."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict) and "id" in raw:
        raw = raw["id"]
    if isinstance(raw, bool):
        raise ValueProblem("must be a record id", "type")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueProblem("must be a record id", "type") from None
    if value <= 0 or value > 2**63 - 1:
        raise ValueProblem("must be a record id", "type")
    return value


class LinkType(FieldType):
    """A reference to one record of another entity, with what happens when that record is deleted."""

    type = "link"
    groupable = True
    widget = "link"
    operators = ("eq", "ne", "in", "isnull")
    definition_properties: ClassVar[dict[str, Any]] = {
        "target": {"type": "string"},
        "on_delete": {"enum": list(ON_DELETE)},
    }

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        return BigInteger()

    def column_signature(self, field: FieldDef) -> str:
        return f"link:{field.get('target')}:{field.get('on_delete', 'restrict')}"

    def foreign_key(self, field: FieldDef) -> tuple[str, str] | None:
        return str(field.get("target")), str(field.get("on_delete", "restrict"))

    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        target = field.get("target")
        if not target:
            yield "target", "a link field needs a target entity"
            return
        target_entity = ctx.bundle.entity(target)
        if target_entity is None:
            yield "target", f"target entity '{target}' does not exist"
        elif target_entity.is_child:
            yield "target", f"'{target}' is a child-table entity; link to its parent instead"
        if field.get("on_delete") == "set_null" and field.required:
            yield "on_delete", "a required link cannot be set to empty when its target is deleted"

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        return parse_record_id(raw)

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        return {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**63 - 1,
            "description": f"a {field.get('target')} id",
        }

    def convert(self, field: FieldDef, old_field: FieldDef, old_type: FieldType, value: Any) -> Any:
        if value is not None and old_type.type == "link" and old_field.get("target") != field.get("target"):
            raise ValueProblem("points to a record of another entity")
        return super().convert(field, old_field, old_type, value)


class ChildTableType(FieldType):
    """Lines owned by the record (e.g. order lines), stored in the child entity's table."""

    type = "child_table"
    measures = ()
    widget = "child_table"
    has_column = False
    sortable = False
    operators = ()
    definition_properties: ClassVar[dict[str, Any]] = {
        "child_entity": {"type": "string"},
        "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000},
    }

    def column_type(self, field: FieldDef) -> TypeEngine[Any]:
        raise TypeError("a child table has no column of its own")

    def column_signature(self, field: FieldDef) -> str:
        return f"child:{field.get('child_entity')}"

    def check_definition(self, field: FieldDef, ctx: DefinitionContext) -> Iterable[tuple[str, str]]:
        child = field.get("child_entity")
        if not child:
            yield "child_entity", "a child table needs a child entity"
            return
        child_entity = ctx.bundle.entity(child)
        if child_entity is None:
            yield "child_entity", f"child entity '{child}' does not exist"
        elif not child_entity.is_child:
            yield "child_entity", f"'{child}' is not marked is_child"
        elif child == ctx.entity.name:
            yield "child_entity", "an entity cannot hold itself as a child table"
        if field.get("default") is not None:
            yield "default", "a child table has no default"

    def json_schema(self, field: FieldDef, *, output: bool) -> dict[str, Any]:
        # The lines' own schemas are components named after the child entity.
        suffix = "Record" if output else "Input"
        line = {"$ref": f"#/components/schemas/{field.get('child_entity')}{suffix}"}
        return {"type": "array", "items": line, "maxItems": int(field.get("max_rows", 1000))}

    def prepare(self, field: FieldDef, raw: Any) -> Any:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
            raise ValueProblem("must be a list of line objects", "type")
        limit = field.get("max_rows", 1000)
        if len(raw) > limit:
            raise ValueProblem(f"must have at most {limit} lines", "max_rows")
        return raw
