"""An entity's follow-up settings (its ``followups`` key): which fields a new note updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metamodel.definitions import EntityDef
from metamodel.errors import Problem

FOLLOWUP_KINDS = ("call", "visit", "message", "note")
_FIELD_TYPES = {"last_at_field": ("datetime", "date"), "next_date_field": ("date", "datetime")}


@dataclass(frozen=True)
class FollowupConfig:
    """The record fields a follow-up note writes: when it was last followed up, and when next."""

    last_at_field: str | None = None
    next_date_field: str | None = None


def followup_config(entity: EntityDef) -> FollowupConfig | None:
    """Return the entity's follow-up settings, or None when it keeps no follow-up fields."""
    doc: Any = entity.doc.get("followups")
    if not isinstance(doc, dict) or entity.is_child:
        return None
    return FollowupConfig(doc.get("last_at_field") or None, doc.get("next_date_field") or None)


def check_followups(entity: EntityDef) -> list[Problem]:
    """Return problems of the ``followups`` settings: each named field exists and holds a date or datetime."""
    doc = entity.doc.get("followups")
    if not isinstance(doc, dict):
        return []
    prefix = f"entity.{entity.name}.followups"
    if entity.is_child:
        return [Problem(prefix, "a child-table entity has no follow-ups of its own", "invalid")]
    problems: list[Problem] = []
    for key, types in _FIELD_TYPES.items():
        name = doc.get(key)
        if not name:
            continue
        field = entity.field(name)
        if field is None:
            problems.append(Problem(f"{prefix}.{key}", f"unknown field '{name}'", "reference"))
        elif field.type not in types:
            problems.append(
                Problem(
                    f"{prefix}.{key}",
                    f"'{name}' is a {field.type} field; it must be a date or datetime",
                    "invalid",
                )
            )
    return problems
