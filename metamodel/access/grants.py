"""What one user may do, read from the access tables once per runtime operation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    String,
    and_,
    bindparam,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)

from metamodel.access.fields import FieldAccess, FieldRules, RoleFieldRule, effective_rules, strictest_rules
from metamodel.access.rules import ANY_ENTITY
from metamodel.coltypes import UTCDateTime
from metamodel.records.hooks import UNKNOWN_READER, Actor
from metamodel.systables import (
    access_state,
    field_permissions,
    role_permissions,
    user_org_units,
    user_role_expiry,
    user_roles,
)


@dataclass(frozen=True)
class Grants:
    """A user's effective permissions: the union over her unexpired roles, and her org unit."""

    user_id: int
    enforced: bool
    unit_id: int | None = None
    # (entity name or '*', operation) -> the scopes granted by any of her roles
    permissions: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # entity -> field -> access, for the fields her roles restrict (see metamodel.access.fields)
    fields: FieldRules = field(default_factory=dict)

    def scopes(self, entity: str, operation: str) -> frozenset[str]:
        """Return the scopes granted for ``operation`` on ``entity`` (rows for '*' included)."""
        empty: frozenset[str] = frozenset()
        return self.permissions.get((entity, operation), empty) | self.permissions.get(
            (ANY_ENTITY, operation), empty
        )

    def field_rules(self, entity: str) -> Mapping[str, FieldAccess]:
        """Return the restricted fields of ``entity`` and their access (empty when enforcement is off)."""
        return self.fields.get(entity, {}) if self.enforced else {}


def bypasses(actor: Actor) -> bool:
    """Whether the actor is the system (rule actions, scheduler) or an administrator."""
    return actor.user_id is None or actor.is_admin


def _grants_query() -> Any:
    # Built once, with bind parameters: one round trip gives the enforcement switch, the unit and
    # the permissions of every role the user holds (the outer join keeps one row when she has none).
    user_id = bindparam("user_id", type_=BigInteger())
    now = bindparam("now", type_=UTCDateTime())
    held = and_(
        user_role_expiry.c.user_id == user_roles.c.user_id, user_role_expiry.c.role == user_roles.c.role
    )
    unexpired = (
        user_roles.c.user_id == user_id,
        or_(user_role_expiry.c.expires_at.is_(None), user_role_expiry.c.expires_at > now),
    )
    # Role permissions (kind 'p') and field rules (kind 'f') of the held roles, in one result.
    permission_rows = (
        select(
            literal("p").label("kind"),
            role_permissions.c.role,
            role_permissions.c.entity,
            role_permissions.c.operation,
            role_permissions.c.scope,
            null().cast(String(40)).label("mask"),
            literal(False, Boolean).label("reveal"),
        )
        .select_from(
            role_permissions.join(user_roles, user_roles.c.role == role_permissions.c.role).outerjoin(
                user_role_expiry, held
            )
        )
        .where(*unexpired)
    )
    field_rows = (
        select(
            literal("f").label("kind"),
            field_permissions.c.role,
            field_permissions.c.entity,
            field_permissions.c.field,
            field_permissions.c.access,
            field_permissions.c.mask,
            field_permissions.c.reveal,
        )
        .select_from(
            field_permissions.join(user_roles, user_roles.c.role == field_permissions.c.role).outerjoin(
                user_role_expiry, held
            )
        )
        .where(*unexpired)
    )
    permissions = union_all(permission_rows, field_rows).subquery()
    one = select(literal(1).label("one")).subquery()
    return select(
        select(access_state.c.enforced).where(access_state.c.id == 1).scalar_subquery(),
        select(user_org_units.c.unit_id).where(user_org_units.c.user_id == user_id).scalar_subquery(),
        permissions.c.kind,
        permissions.c.role,
        permissions.c.entity,
        permissions.c.operation,
        permissions.c.scope,
        permissions.c.mask,
        permissions.c.reveal,
    ).select_from(one.outerjoin(permissions, true()))


_GRANTS = _grants_query()


def load_grants(conn: Connection, user_id: int, now: dt.datetime) -> Grants:
    """Read a user's grants: the enforcement switch, her unit, and permissions of roles held at ``now``."""
    rows = conn.execute(_GRANTS, {"user_id": user_id, "now": now}).all()
    is_on, unit_id = rows[0][0], rows[0][1]
    if not is_on:
        return Grants(user_id, False, unit_id)
    permissions: dict[tuple[str, str], set[str]] = {}
    role_entities: dict[str, set[str]] = {}
    rules: list[RoleFieldRule] = []
    for _on, _unit, kind, role, entity, operation, scope, mask, reveal in rows:
        if kind == "p":
            permissions.setdefault((entity, operation), set()).add(scope)
            role_entities.setdefault(role, set()).add(entity)
        elif kind == "f":
            rules.append(RoleFieldRule(role, entity, operation, scope, mask, bool(reveal)))
    return Grants(
        user_id,
        True,
        unit_id,
        {key: frozenset(v) for key, v in permissions.items()},
        effective_rules(role_entities, rules) if rules else {},
    )


def load_unknown_reader(conn: Connection) -> Grants:
    """Grants of a reader known by no user: no permissions, and every field rule of every role at its strictest."""
    is_on = bool(conn.execute(select(access_state.c.enforced).where(access_state.c.id == 1)).scalar())
    if not is_on:
        return Grants(UNKNOWN_READER.user_id or 0, False)
    table = field_permissions
    rows = conn.execute(
        select(table.c.role, table.c.entity, table.c.field, table.c.access, table.c.mask)
    ).all()
    rules = [RoleFieldRule(role, entity, name, access, mask) for role, entity, name, access, mask in rows]
    return Grants(UNKNOWN_READER.user_id or 0, True, None, {}, strictest_rules(rules))


def resolve_actor(actor: Actor, conn: Connection) -> Actor:
    """Return the actor with its grants attached (kept when already resolved; none for bypassing actors)."""
    if bypasses(actor) or isinstance(actor.grants, Grants):
        return actor
    assert actor.user_id is not None
    if actor.user_id == UNKNOWN_READER.user_id:
        return dataclasses.replace(actor, grants=load_unknown_reader(conn))
    now = actor.now or dt.datetime.now(dt.UTC)
    return dataclasses.replace(actor, grants=load_grants(conn, actor.user_id, now))


def held_roles(conn: Connection, user_id: int, now: dt.datetime) -> set[str]:
    """Return the names of the roles ``user_id`` holds at ``now`` (expired grants left out)."""
    held = and_(
        user_role_expiry.c.user_id == user_roles.c.user_id, user_role_expiry.c.role == user_roles.c.role
    )
    statement = (
        select(user_roles.c.role)
        .select_from(user_roles.outerjoin(user_role_expiry, held))
        .where(
            user_roles.c.user_id == user_id,
            or_(user_role_expiry.c.expires_at.is_(None), user_role_expiry.c.expires_at > now),
        )
    )
    return {str(role) for role in conn.execute(statement).scalars()}
