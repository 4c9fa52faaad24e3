"""Turning input into stored values and stored rows into JSON, through the field types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from metamodel.definitions import FieldDef
from metamodel.errors import ProblemList
from metamodel.fieldtypes.base import FieldTypeRegistry, ValueProblem
from metamodel.model import EntityModel

# Keys a client may send back unchanged; they are never written from input.
READ_ONLY_KEYS = frozenset(
    {
        "id",
        "record_no",
        "lock_version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "parent_id",
        "parent_field",
        "line_no",
        "_titles",
        "_entity",
    }
)


def prepare_values(
    model: EntityModel,
    registry: FieldTypeRegistry,
    raw: Mapping[str, Any],
    problems: ProblemList,
    *,
    creating: bool,
    prefix: str = "",
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Check and convert input; returns column values and raw child-table rows by field name."""
    values: dict[str, Any] = {}
    children: dict[str, list[Any]] = {}
    for key in raw:
        if key not in model.fields and key not in READ_ONLY_KEYS and key != "owner_id":
            problems.add(f"{prefix}{key}", f"unknown field '{key}'", "unknown_field")
    for definition in model.entity.fields:
        field_type = model.types[definition.name]
        given = definition.name in raw
        if not given and not creating:
            continue
        source = raw.get(definition.name) if given else definition.get("default")
        try:
            value = field_type.prepare(definition, source)
        except ValueProblem as exc:
            problems.add(f"{prefix}{definition.name}", exc.message, exc.code)
            continue
        if definition.required and field_type.is_empty(value):
            problems.add(f"{prefix}{definition.name}", "is required", "required")
            continue
        if field_type.has_column:
            values[definition.name] = value
        else:
            children[definition.name] = value
    if "owner_id" in raw and raw["owner_id"] not in (None, ""):
        try:
            values["owner_id"] = int(raw["owner_id"])
        except (TypeError, ValueError):
            problems.add(f"{prefix}owner_id", "must be a user id", "type")
    return values, children


def serialize_row(model: EntityModel, row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """Return the JSON form of a record row (without child lines)."""
    if model.entity.is_child:
        record: dict[str, Any] = {"id": row["id"], "line_no": row["line_no"]}
    else:
        record = {
            "id": row["id"],
            "record_no": row["record_no"],
            "lock_version": row["lock_version"],
            "owner_id": row["owner_id"],
            "created_at": _iso(row["created_at"]),
            "created_by": row["created_by"],
            "updated_at": _iso(row["updated_at"]),
            "updated_by": row["updated_by"],
        }
    for name, definition, serialize in _serializers(model):
        record[name] = serialize(definition, row[name])
    return record


def _serializers(model: EntityModel) -> list[tuple[str, FieldDef, Callable[[FieldDef, Any], Any]]]:
    # Worked out once per compiled entity, not once per row.
    found: list[tuple[str, FieldDef, Callable[[FieldDef, Any], Any]]] | None = model.derived.get(
        "serializers"
    )
    if found is None:
        found = [(d.name, d, model.types[d.name].serialize) for d in model.column_fields()]
        model.derived["serializers"] = found
    return found


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
