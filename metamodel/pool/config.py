"""An entity's pool settings (its ``pool`` key) and their checks at publish time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metamodel.definitions import EntityDef
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry

FOLLOW_UP_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class PoolConfig:
    """What the pool of one entity hides, how many records a user may claim, and when records return."""

    contact_fields: tuple[str, ...] = ()
    claim_limit: int | None = None  # records claimed from the pool a user may hold at once
    return_after_days: int | None = None  # days without follow-up before a held record returns
    follow_up_field: str | None = None  # date/datetime of the last follow-up; updated_at when unset
    return_unless: str | None = None  # a rule expression: records for which it holds are never returned


def pool_config(entity: EntityDef) -> PoolConfig | None:
    """Return the entity's pool settings, or None when it has no pool."""
    doc: Any = entity.doc.get("pool")
    if not isinstance(doc, dict) or entity.is_child:
        return None
    return PoolConfig(
        contact_fields=tuple(str(name) for name in doc.get("contact_fields") or ()),
        claim_limit=doc.get("claim_limit"),
        return_after_days=doc.get("return_after_days"),
        # Without its own field the pool reads the time of the last follow-up note, when notes keep one.
        follow_up_field=doc.get("follow_up_field") or _last_followup_field(entity),
        return_unless=doc.get("return_unless") or None,
    )


def _last_followup_field(entity: EntityDef) -> str | None:
    notes: Any = entity.doc.get("followups")
    return str(notes["last_at_field"]) if isinstance(notes, dict) and notes.get("last_at_field") else None


def check_pool(entity: EntityDef, registry: FieldTypeRegistry) -> list[Problem]:
    """Return the problems of the entity's ``pool`` settings (field references; the JSON Schema checks the rest)."""
    doc = entity.doc.get("pool")
    if doc is None:
        return []
    prefix = f"entity.{entity.name}.pool"
    if entity.is_child:
        return [
            Problem(
                prefix, "a child-table entity has no pool: its lines belong to their parent record", "invalid"
            )
        ]
    problems: list[Problem] = []
    for index, name in enumerate(doc.get("contact_fields") or []):
        path = f"{prefix}.contact_fields[{index}]"
        field = entity.field(name)
        if field is None:
            problems.append(Problem(path, f"unknown field '{name}'", "reference"))
        elif field.type not in registry or not registry.of(field).has_column:
            problems.append(
                Problem(path, f"'{name}' is a {field.type} field without a value of its own", "invalid")
            )
        elif name == entity.title_field:
            problems.append(
                Problem(
                    path,
                    f"'{name}' is the title field, shown wherever the record is linked; it cannot be hidden",
                    "invalid",
                )
            )
    follow_up = doc.get("follow_up_field")
    if follow_up is not None:
        field = entity.field(follow_up)
        if field is None:
            problems.append(Problem(f"{prefix}.follow_up_field", f"unknown field '{follow_up}'", "reference"))
        elif field.type not in FOLLOW_UP_TYPES:
            problems.append(
                Problem(
                    f"{prefix}.follow_up_field",
                    f"'{follow_up}' is a {field.type} field; it must be a date or datetime",
                    "invalid",
                )
            )
        if doc.get("return_after_days") is None:
            problems.append(
                Problem(
                    f"{prefix}.return_after_days",
                    "a follow-up field needs return_after_days, the days without follow-up",
                    "required",
                )
            )
    return problems
