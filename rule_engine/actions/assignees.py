"""Whom an assignment chooses among: a fixed team, a team named by a field, or a role's members in the record's unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, or_, select

from metamodel.model import SiteModel
from metamodel.systables import (
    org_unit_tree,
    org_units,
    team_members,
    user_org_units,
    user_role_expiry,
    user_roles,
    users,
)
from metamodel.unitfield import org_unit_field
from rule_engine.actions.base import ActionContext, ActionFailed

# Settings that name the candidates; round_robin and least_loaded need exactly one of them.
SOURCES = ("team", "team_field", "role")
NAME_FIELD_TYPES = ("select", "text")

SCHEMA_PROPERTIES: dict[str, Any] = {
    "team": {"type": "string", "minLength": 1},
    "team_field": {"type": "string", "minLength": 1, "maxLength": 80},
    "role": {"type": "string", "minLength": 1, "maxLength": 80},
    "unit_field": {"type": "string", "minLength": 1, "maxLength": 80},
    "include_subunits": {"type": "boolean"},
}


def check_sources(config: Mapping[str, Any], site: SiteModel, entity: str) -> Iterable[tuple[str, str]]:
    """Yield problems of the candidate settings: one source, and fields that can name a team or unit."""
    given = [key for key in SOURCES if config.get(key)]
    if config["mode"] == "fixed":
        for key in given + [k for k in ("unit_field", "include_subunits") if k in config]:
            yield key, "a fixed assignment names its user only"
        return
    if len(given) != 1:
        yield "team", "name exactly one of team, team_field or role"
    if not config.get("role"):
        for key in ("unit_field", "include_subunits"):
            if key in config:
                yield key, "only a role's members are chosen by org unit"
    model = site.entities.get(entity)
    for key in ("team_field", "unit_field"):
        name = config.get(key)
        if name and model is not None:
            field = model.entity.field(str(name))
            if field is None:
                yield key, f"unknown field '{name}'"
            elif field.type not in NAME_FIELD_TYPES:
                yield key, f"'{name}' is a {field.type} field; it must be select or text (holding a name)"


def candidates(ctx: ActionContext, config: Mapping[str, Any]) -> tuple[str, list[int]]:
    """Return (what was chosen among, the active users' ids in id order) for this record."""
    conn, record = ctx.conn, ctx.record
    if config.get("team"):
        team = str(config["team"])
        return f"team '{team}'", team_user_ids(conn, team)
    if config.get("team_field"):
        named = record.get(str(config["team_field"]))
        if not named:
            raise ActionFailed(f"the record names no team in '{config['team_field']}'")
        return f"team '{named}'", team_user_ids(conn, str(named))
    role = str(config["role"])
    unit = _record_unit(ctx, config)
    if unit is None:
        raise ActionFailed(f"the record has no org unit to choose members of role '{role}' in")
    where = f"role '{role}' in unit '{unit}'" + (" and below" if config.get("include_subunits") else "")
    return where, role_user_ids(conn, role, unit, bool(config.get("include_subunits")), ctx.now)


def team_user_ids(conn: Connection, team: str) -> list[int]:
    """Return the ids of a team's active members, in id order."""
    rows = conn.execute(
        select(users.c.id)
        .join(team_members, team_members.c.user_id == users.c.id)
        .where(team_members.c.team == team, users.c.is_active.is_(True))
        .order_by(users.c.id)
    )
    return [int(user_id) for user_id in rows.scalars()]


def role_user_ids(conn: Connection, role: str, unit: str, below: bool, now: dt.datetime) -> list[int]:
    """Return the active users holding ``role`` (unexpired) whose org unit is ``unit`` (or below it)."""
    unit_id = conn.execute(select(org_units.c.id).where(org_units.c.name == unit)).scalar()
    if unit_id is None:
        return []
    if below:
        units: Any = select(org_unit_tree.c.descendant_id).where(org_unit_tree.c.ancestor_id == unit_id)
    else:
        units = select(org_units.c.id).where(org_units.c.id == unit_id)
    rows = conn.execute(
        select(users.c.id)
        .join(user_roles, user_roles.c.user_id == users.c.id)
        .join(user_org_units, user_org_units.c.user_id == users.c.id)
        .outerjoin(
            user_role_expiry,
            (user_role_expiry.c.user_id == user_roles.c.user_id)
            & (user_role_expiry.c.role == user_roles.c.role),
        )
        .where(
            user_roles.c.role == role,
            users.c.is_active.is_(True),
            user_org_units.c.unit_id.in_(units),
            or_(user_role_expiry.c.expires_at.is_(None), user_role_expiry.c.expires_at > now),
        )
        .order_by(users.c.id)
    )
    return [int(user_id) for user_id in rows.scalars()]


def _record_unit(ctx: ActionContext, config: Mapping[str, Any]) -> str | None:
    # The unit named by the action, else the entity's org unit field, else the record owner's unit.
    field = config.get("unit_field") or org_unit_field(ctx.site.entity(ctx.entity).entity)
    if field:
        value = ctx.record.get(str(field))
        if value:
            return str(value)
    owner = ctx.record.get("owner_id")
    if owner is None:
        return None
    found = ctx.conn.execute(
        select(org_units.c.name)
        .join(user_org_units, user_org_units.c.unit_id == org_units.c.id)
        .where(user_org_units.c.user_id == owner)
    ).scalar()
    return str(found) if found is not None else None
