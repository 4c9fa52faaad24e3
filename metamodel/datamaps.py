"""Option maps: where the records holding a removed select option go when a publish removes it.

Sent with a publish (and with a validate, to preview it) as
``{"remap": {"<entity>": {"<field>": {"<removed option>": "<remaining option>"}}}}``; it is not
stored in the metadata. Publishing rewrites the mapped values in its own transaction, through the
record tables' columns like every other schema change (each rewritten record's lock_version bumps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, MetaData, select

from metamodel.crypto.sealing import NO_SEALING, Sealing
from metamodel.definitions import Bundle, FieldDef
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.tables import build_table

OptionMap = Mapping[str, Mapping[str, Mapping[str, str]]]
_CHOICES = ("select", "multi_select")


def mapped(remap: OptionMap, entity: str, field: str) -> Mapping[str, str]:
    """Return the option map of one field (empty when none was given)."""
    return (remap.get(entity) or {}).get(field) or {}


def check_option_map(draft: Bundle, remap: Any) -> list[Problem]:
    """Return the problems of an option map's shape and targets against ``draft``."""
    if remap is None:
        return []
    if not isinstance(remap, Mapping):
        return [Problem("remap", "must be an object of entity names", "type")]
    problems: list[Problem] = []
    for entity_name, fields in remap.items():
        entity = draft.entity(str(entity_name))
        if entity is None or not isinstance(fields, Mapping):
            problems.append(Problem(f"remap.{entity_name}", "not an entity of the draft", "reference"))
            continue
        for field_name, pairs in fields.items():
            definition = entity.field(str(field_name))
            path = f"remap.{entity_name}.{field_name}"
            if definition is None or definition.type not in _CHOICES or not isinstance(pairs, Mapping):
                problems.append(Problem(path, "not a select or multi-select field of the draft", "reference"))
                continue
            problems += _check_pairs(path, definition, pairs)
    return problems


def _check_pairs(path: str, definition: FieldDef, pairs: Mapping[str, Any]) -> list[Problem]:
    remaining = {str(c.get("value")) for c in definition.choices}
    problems = []
    for old, new in pairs.items():
        if old in remaining:
            problems.append(
                Problem(
                    f"{path}.{old}", f"'{old}' is still an option; only removed ones are mapped", "invalid"
                )
            )
        elif new not in remaining:
            problems.append(
                Problem(f"{path}.{old}", f"'{new}' is not one of the remaining options", "choice")
            )
    return problems


def apply_option_map(
    conn: Connection,
    draft: Bundle,
    remap: OptionMap,
    registry: FieldTypeRegistry,
    sealing: Sealing = NO_SEALING,
) -> list[str]:
    """Rewrite the mapped option values of the draft's (already synced) tables; returns what changed."""
    changes: list[str] = []
    for entity_name, fields in remap.items():
        entity = draft.entity(entity_name)
        if entity is None:
            continue
        table = build_table(entity, registry, MetaData(), sealing)
        for field_name, pairs in fields.items():
            definition = entity.field(field_name)
            if definition is None or not pairs:
                continue
            order = [str(c.get("value")) for c in definition.choices]
            column = table.c[field_name]
            rows = conn.execute(select(table.c.id, column).where(column.is_not(None))).all()
            changed = 0
            for record_id, value in rows:
                new = _remapped(value, pairs, order)
                if new != value:
                    conn.execute(
                        table.update()
                        .where(table.c.id == record_id)
                        .values({field_name: new, "lock_version": table.c.lock_version + 1})
                    )
                    changed += 1
            pairs_text = ", ".join(f"{old} -> {new}" for old, new in pairs.items())
            changes.append(
                f"mapped removed options of {entity_name}.{field_name} ({pairs_text}) in {changed} records"
            )
    return changes


def _remapped(value: Any, pairs: Mapping[str, str], order: list[str]) -> Any:
    if isinstance(value, list):
        chosen = {pairs.get(v, v) for v in value}
        return sorted(chosen, key=lambda v: order.index(v) if v in order else len(order))
    return pairs.get(value, value)
