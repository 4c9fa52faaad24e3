"""Row scopes by a record's own org unit field (a work order's service center), not its owner's unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, literal, select

from metamodel.access.errors import AccessDenied
from metamodel.access.grants import Grants
from metamodel.access.rules import ALL, ORG_SUBTREE, ORG_UNIT, OWN
from metamodel.model import EntityModel
from metamodel.records.hooks import AccessRequest
from metamodel.systables import org_unit_tree, org_units
from metamodel.unitfield import org_unit_field

UNIT_SCOPES = frozenset({ORG_UNIT, ORG_SUBTREE})


def unit_names(unit_id: int | None, scopes: frozenset[str]) -> Select[Any] | None:
    """Return a SELECT of the names of the units the scopes open (the user's, or her subtree); None for none."""
    if unit_id is None:
        return None
    if ORG_SUBTREE in scopes:
        return (
            select(org_units.c.name)
            .join(org_unit_tree, org_unit_tree.c.descendant_id == org_units.c.id)
            .where(org_unit_tree.c.ancestor_id == unit_id)
        )
    if ORG_UNIT in scopes:
        return select(org_units.c.name).where(org_units.c.id == unit_id)
    return None


def unit_field_conditions(
    column: ColumnElement[Any],
    unit_id: int | None,
    scopes: frozenset[str],
    owner_parts: list[ColumnElement[bool]],
) -> list[ColumnElement[bool]]:
    """Return the unit scopes' conditions on the record's unit column.

    ``owner_parts`` are the owner-unit conditions: they still hold for records whose unit is empty,
    so the owner's unit stays the default of records nobody placed.
    """
    names = unit_names(unit_id, scopes)
    if names is None:
        return []
    return [column.in_(names)] + [and_(column.is_(None), part) for part in owner_parts]


def unit_decides(request: AccessRequest, grants: Grants, scopes: frozenset[str]) -> bool:
    """Check a created or updated record's unit against the user's unit scopes.

    Returns True when the record's unit decides who sees it (its owner may then be anyone); raises
    AccessDenied when the unit lies outside the user's units; False when the owner decides.
    """
    field = org_unit_field(request.entity.entity)
    if field is None or ALL in scopes or not scopes & UNIT_SCOPES:
        return False
    if request.operation not in ("create", "update"):
        return False
    values = request.values or {}
    if field in values:
        unit = values[field]
    else:
        unit = _stored_unit(request.conn, request.entity, request.record_id, field)
    if unit is None or unit == "":
        return False
    if not _inside(request.conn, str(unit), grants.unit_id, scopes):
        if OWN in scopes:
            return False  # her own record placed elsewhere: the owner check decides
        entity = request.entity.name
        raise AccessDenied(
            entity,
            request.operation,
            f"you may not {request.operation} {entity} records of org unit '{unit}': it is outside your units",
        )
    return True


def _stored_unit(conn: Connection, model: EntityModel, record_id: int | None, field: str) -> Any:
    if record_id is None:
        return None
    table = model.table
    return conn.execute(select(table.c[field]).where(table.c.id == record_id)).scalar()


def _inside(conn: Connection, unit: str, unit_id: int | None, scopes: frozenset[str]) -> bool:
    names = unit_names(unit_id, scopes)
    if names is None:
        return False
    return conn.execute(select(literal(1)).where(literal(unit).in_(names))).first() is not None
