"""Row scopes as SQL predicates: one WHERE condition per query, no per-row work in Python."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, false, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from metamodel.access.grants import Grants
from metamodel.access.rules import ALL, CLAIM, ORG_SUBTREE, ORG_UNIT, OWN, share_permissions_for
from metamodel.access.unitscope import unit_field_conditions
from metamodel.coltypes import UTCDateTime
from metamodel.model import EntityModel
from metamodel.systables import org_unit_tree, record_shares, team_members, user_org_units
from metamodel.unitfield import org_unit_field


class NotIndexed(ColumnElement[Any]):
    """A column SQLite must not look up through its index: rendered ``+column`` there, plain elsewhere.

    ``owner_id IN (<a unit's users>) OR id IN (<shares>)`` lets SQLite's planner (which has no row
    statistics) fetch every match through the owner and primary-key indexes and sort them all in a
    temporary B-tree: the whole unit's share of the table for a 50-row page. Unary plus is SQLite's
    documented way to take a term out of index selection, so the OR is tested row by row while the
    planner walks the sort order's index and stops at the page's end, which costs the page size
    divided by the unit's share of the rows. PostgreSQL has statistics and chooses for itself.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(NotIndexed)
def _plain(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(NotIndexed, "sqlite")
def _unary_plus(element: NotIndexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


def owner_conditions(
    owner: ColumnElement[Any],
    user_id: int,
    unit_id: int | None,
    scopes: frozenset[str],
    *,
    for_lists: bool = False,
) -> list[ColumnElement[bool]]:
    """Return conditions on an owner id for the owner-based scopes (own, org_unit, org_subtree).

    ``for_lists``: the unit scopes' owner sets (usually a sizeable share of the rows) do not choose the
    index, see NotIndexed; one owner's records (``own``) are few enough to fetch and sort.
    """
    parts: list[ColumnElement[bool]] = []
    if OWN in scopes:
        parts.append(owner == user_id)
    if for_lists:
        owner = NotIndexed(owner)
    if unit_id is not None and ORG_SUBTREE in scopes:
        # The closure table turns "owner's unit is at or below mine" into one indexed join.
        below = (
            select(user_org_units.c.user_id)
            .join(org_unit_tree, org_unit_tree.c.descendant_id == user_org_units.c.unit_id)
            .where(org_unit_tree.c.ancestor_id == unit_id)
        )
        parts.append(owner.in_(below))
    elif unit_id is not None and ORG_UNIT in scopes:
        parts.append(owner.in_(select(user_org_units.c.user_id).where(user_org_units.c.unit_id == unit_id)))
    return parts


# The time shares are checked against: the current operation's clock reading. The conditions below
# are built once per user, entity and scope set and reused; this bind parameter reads the time
# when the statement runs, so a cached condition never carries a stale time.
_NOW: ContextVar[dt.datetime | None] = ContextVar("access_now", default=None)


def _now() -> dt.datetime:
    return _NOW.get() or dt.datetime.now(dt.UTC)


def shared_ids(entity_id: str, user_id: int, permissions: tuple[str, ...]) -> Any:
    """Return a SELECT of the ids of records shared with the user or her teams, unexpired."""
    now = bindparam("access_now", callable_=_now, type_=UTCDateTime())
    my_teams = select(team_members.c.team).where(team_members.c.user_id == user_id)
    return select(record_shares.c.record_id).where(
        record_shares.c.entity_id == entity_id,
        or_(record_shares.c.user_id == user_id, record_shares.c.team.in_(my_teams)),
        record_shares.c.permission.in_(permissions),
        or_(record_shares.c.expires_at.is_(None), record_shares.c.expires_at > now),
    )


def record_condition(
    model: EntityModel, grants: Grants, operation: str, now: dt.datetime
) -> ColumnElement[bool] | None:
    """Return the WHERE condition of the records ``operation`` may touch at ``now``; None when all of them."""
    scopes = grants.scopes(model.name, operation)
    if ALL in scopes:
        return None
    _NOW.set(now)
    pooled = operation == "read" and sees_pool(model, grants)
    return _condition(
        model.table,
        model.entity.id,
        operation,
        grants.user_id,
        grants.unit_id,
        scopes,
        pooled,
        org_unit_field(model.entity),
    )


def sees_pool(model: EntityModel, grants: Grants) -> bool:
    """Whether the user sees the records without owner of ``model`` through its lead pool."""
    return bool(model.entity.doc.get("pool")) and bool(grants.scopes(model.name, CLAIM))


@lru_cache(maxsize=4096)
def _condition(
    table: Table,
    entity_id: str,
    operation: str,
    user_id: int,
    unit_id: int | None,
    scopes: frozenset[str],
    pooled: bool = False,
    unit_field: str | None = None,
) -> ColumnElement[bool]:
    # Building the expression costs about as much as running a small indexed query, so a user's
    # condition is built once per table, operation, unit and scope set.
    if unit_field is None:
        parts = owner_conditions(table.c.owner_id, user_id, unit_id, scopes, for_lists=True)
    else:
        # The record's unit field decides; its owner's unit only for records without a unit.
        parts = [table.c.owner_id == user_id] if OWN in scopes else []
        by_owner = owner_conditions(table.c.owner_id, user_id, unit_id, scopes - {OWN}, for_lists=True)
        parts += unit_field_conditions(NotIndexed(table.c[unit_field]), unit_id, scopes, by_owner)
    permissions = share_permissions_for(operation)
    if scopes and permissions:
        # Shares widen the rows of an operation the user's roles allow; they never grant the operation.
        parts.append(table.c.id.in_(shared_ids(entity_id, user_id, permissions)))
    if pooled:
        parts.append(table.c.owner_id.is_(None))  # the lead pool: records nobody owns yet
    return or_(*parts) if parts else false()
