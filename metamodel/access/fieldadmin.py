"""Reading and replacing a role's field rules (sys_field_permission), checked against the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from metamodel.access.fields import ACCESS_LEVELS
from metamodel.access.masks import MaskStyles
from metamodel.errors import NotFound, Problem, RecordInvalid
from metamodel.model import SiteModel
from metamodel.systables import field_permissions, roles

# Columns every record has: rules on them would break ownership and locking, so none are allowed.
_NOT_RULED = frozenset(
    {"id", "lock_version", "owner_id", "created_at", "created_by", "updated_at", "updated_by"}
)


def check_field_rules(
    rules: Iterable[Mapping[str, Any]], model: SiteModel, styles: MaskStyles
) -> list[dict[str, Any]]:
    """Return the rules as rows, or raise RecordInvalid naming each unknown entity, field, access or mask."""
    checked: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    if isinstance(rules, Mapping | str) or not isinstance(rules, Iterable):
        raise RecordInvalid(
            "the field rules are not valid", [Problem("fields", "expected a list of rules", "type")]
        )
    for index, item in enumerate(rules):
        where = f"fields[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, "expected an object", "type"))
            continue
        entity, name, access = item.get("entity"), item.get("field"), item.get("access")
        mask, reveal = item.get("mask"), item.get("reveal", False)
        found = model.entities.get(entity) if isinstance(entity, str) else None
        if found is None:
            problems.append(
                Problem(f"{where}.entity", f"unknown entity '{str(entity)[:80]}'", "unknown_entity")
            )
        elif not isinstance(name, str) or name not in found.fields or name in _NOT_RULED:
            problems.append(
                Problem(
                    f"{where}.field", f"entity '{entity}' has no field '{str(name)[:80]}'", "unknown_field"
                )
            )
        if access not in ACCESS_LEVELS:
            problems.append(
                Problem(f"{where}.access", f"must be one of: {', '.join(ACCESS_LEVELS)}", "choice")
            )
        if mask is not None and (not isinstance(mask, str) or mask not in styles):
            problems.append(
                Problem(f"{where}.mask", f"must be one of: {', '.join(styles.names())}", "choice")
            )
        if not isinstance(reveal, bool):
            problems.append(Problem(f"{where}.reveal", "must be true or false", "type"))
        key = (str(entity), str(name))
        if key in seen:
            problems.append(Problem(where, f"{entity}.{name} is given twice", "duplicate"))
        seen.add(key)
        checked.append(
            {
                "entity": str(entity),
                "field": str(name),
                "access": str(access),
                "mask": mask,
                "reveal": reveal is True,
            }
        )
    if problems:
        raise RecordInvalid("the field rules are not valid", problems)
    return checked


def read_field_rules(conn: Connection, role: str) -> list[dict[str, Any]]:
    """Return a role's field rules, by entity and field."""
    table = field_permissions
    rows = conn.execute(
        select(table.c.entity, table.c.field, table.c.access, table.c.mask, table.c.reveal)
        .where(table.c.role == role)
        .order_by(table.c.entity, table.c.field)
    ).mappings()
    return [{**dict(r), "reveal": bool(r["reveal"])} for r in rows]


def replace_field_rules(conn: Connection, role: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace a role's field rules with already checked ``rows``; NotFound for an unknown role."""
    if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
        raise NotFound(f"role '{role}' does not exist")
    conn.execute(field_permissions.delete().where(field_permissions.c.role == role))
    if rows:
        conn.execute(field_permissions.insert(), [{"role": role, **row} for row in rows])
    return read_field_rules(conn, role)
