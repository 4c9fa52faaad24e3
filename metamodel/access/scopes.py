"""Row scopes as SQL predicates: one WHERE condition per query, no per-row work in Python."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select

from metamodel.access.grants import Grants
from metamodel.access.rules import ALL, ORG_SUBTREE, ORG_UNIT, OWN, share_permissions_for
from metamodel.model import EntityModel
from metamodel.systables import org_unit_tree, record_shares, team_members, user_org_units


def owner_conditions(owner: ColumnElement[Any], grants: Grants, scopes: frozenset[str]) -> list[ColumnElement[bool]]:
    """Return conditions on an owner id for the owner-based scopes (own, org_unit, org_subtree)."""
    parts: list[ColumnElement[bool]] = []
    if OWN in scopes:
        parts.append(owner == grants.user_id)
    if grants.unit_id is not None and ORG_SUBTREE in scopes:
        # The closure table turns "owner's unit is at or below mine" into one indexed join.
        below = (
            select(user_org_units.c.user_id)
            .join(org_unit_tree, org_unit_tree.c.descendant_id == user_org_units.c.unit_id)
            .where(org_unit_tree.c.ancestor_id == grants.unit_id)
        )
        parts.append(owner.in_(below))
    elif grants.unit_id is not None and ORG_UNIT in scopes:
        parts.append(owner.in_(select(user_org_units.c.user_id).where(user_org_units.c.unit_id == grants.unit_id)))
    return parts


def shared_ids(model: EntityModel, grants: Grants, permissions: tuple[str, ...], now: dt.datetime) -> Any:
    """Return a SELECT of the ids of ``model`` records shared with the user or her teams, unexpired."""
    my_teams = select(team_members.c.team).where(team_members.c.user_id == grants.user_id)
    return select(record_shares.c.record_id).where(
        record_shares.c.entity_id == model.entity.id,
        or_(record_shares.c.user_id == grants.user_id, record_shares.c.team.in_(my_teams)),
        record_shares.c.permission.in_(permissions),
        or_(record_shares.c.expires_at.is_(None), record_shares.c.expires_at > now),
    )


def record_condition(
    model: EntityModel, grants: Grants, operation: str, now: dt.datetime
) -> ColumnElement[bool] | None:
    """Return the WHERE condition of the records ``operation`` may touch; None when all of them."""
    scopes = grants.scopes(model.name, operation)
    if ALL in scopes:
        return None
    parts = owner_conditions(model.table.c.owner_id, grants, scopes)
    permissions = share_permissions_for(operation)
    if scopes and permissions:
        # Shares widen the rows of an operation the user's roles allow; they never grant the operation.
        parts.append(model.table.c.id.in_(shared_ids(model, grants, permissions, now)))
    return or_(*parts) if parts else false()
