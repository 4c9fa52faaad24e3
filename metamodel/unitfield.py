"""The org unit field of an entity: which field names the unit (store, service center) a record belongs to."""

from __future__ import annotations

from metamodel.definitions import EntityDef
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry

# The field holds the unit's name (sys_org_unit.name), so a select listing the units reads well in
# forms and lists, and packs can ship it; a text field serves sites whose units change often.
UNIT_FIELD_TYPES = ("select", "text")


def org_unit_field(entity: EntityDef) -> str | None:
    """Return the name of the field carrying a record's org unit, or None (the owner's unit decides)."""
    name = entity.doc.get("org_unit_field")
    return str(name) if name else None


def check_org_unit_field(entity: EntityDef, registry: FieldTypeRegistry) -> list[Problem]:
    """Return the problems of the entity's ``org_unit_field`` setting."""
    name = org_unit_field(entity)
    if name is None:
        return []
    path = f"entity.{entity.name}.org_unit_field"
    if entity.is_child:
        return [Problem(path, "a child-table entity is scoped by its parent record", "invalid")]
    field = entity.field(name)
    if field is None:
        return [Problem(path, f"unknown field '{name}'", "reference")]
    if field.type not in UNIT_FIELD_TYPES:
        allowed = " or ".join(UNIT_FIELD_TYPES)
        return [
            Problem(
                path, f"'{name}' is a {field.type} field; the org unit field must be {allowed}", "invalid"
            )
        ]
    rules = field.doc.get("rules") or {}
    if "formula" in rules or "rollup" in rules:
        # A derived unit would move records between scopes without anyone writing them.
        return [Problem(path, f"'{name}' is computed; the org unit field must be entered", "invalid")]
    return []
