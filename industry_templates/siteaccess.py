"""Roles, permissions, org units and demo users of a pack, written in the caller's transaction.

``AccessAdmin`` runs each change in its own transaction; a pack install must be all or nothing, so
these few writes go to the same access tables on the install's connection instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from metamodel.errors import Problem, RecordInvalid
from metamodel.systables import (
    access_state,
    org_unit_tree,
    org_units,
    role_permissions,
    roles,
    team_members,
    teams,
    user_org_units,
    user_roles,
    users,
)

DEFAULT_SCOPE = "all"
# Stored for demo users created without a password: no argon2 or werkzeug hash, so no sign-in works.
NO_PASSWORD = "!no-password"


def normal_role(role: Mapping[str, Any]) -> dict[str, Any]:
    """Return a role document with every permission's scope spelled out, sorted like the site reads them."""
    permissions = [
        {"entity": p["entity"], "operation": p["operation"], "scope": p.get("scope", DEFAULT_SCOPE)}
        for p in role.get("permissions") or []
    ]
    permissions.sort(key=lambda p: (p["entity"], p["operation"]))
    return {"name": role["name"], "label": dict(role.get("label") or {}), "permissions": permissions}


def site_roles(conn: Connection) -> dict[str, dict[str, Any]]:
    """Return every role of the site with its permissions, as role documents."""
    found = {
        row.name: {"name": row.name, "label": dict(row.label or {}), "permissions": []}
        for row in conn.execute(select(roles))
    }
    rows = conn.execute(
        select(role_permissions).order_by(role_permissions.c.entity, role_permissions.c.operation)
    )
    for row in rows:
        if row.role in found:
            found[row.role]["permissions"].append(
                {"entity": row.entity, "operation": row.operation, "scope": row.scope}
            )
    return found


def write_role(conn: Connection, role: Mapping[str, Any]) -> None:
    """Create or replace a role's label and permissions."""
    doc = normal_role(role)
    if conn.execute(select(roles.c.name).where(roles.c.name == doc["name"])).first() is None:
        conn.execute(roles.insert().values(name=doc["name"], label=doc["label"]))
    else:
        conn.execute(roles.update().where(roles.c.name == doc["name"]).values(label=doc["label"]))
    conn.execute(role_permissions.delete().where(role_permissions.c.role == doc["name"]))
    if doc["permissions"]:
        conn.execute(role_permissions.insert(), [{"role": doc["name"], **p} for p in doc["permissions"]])


def add_role(conn: Connection, role: Mapping[str, Any]) -> None:
    """Create a role, or add the pack's permissions to a role the site (or another pack) already has.

    An existing role keeps its label and its other permissions: two packs may share a role name
    (``store_manager``) without one wiping the other's grants.
    """
    doc = normal_role(role)
    if conn.execute(select(roles.c.name).where(roles.c.name == doc["name"])).first() is None:
        write_role(conn, doc)
        return
    table = role_permissions
    for permission in doc["permissions"]:
        conn.execute(
            table.delete().where(
                table.c.role == doc["name"],
                table.c.entity == permission["entity"],
                table.c.operation == permission["operation"],
            )
        )
        conn.execute(table.insert().values(role=doc["name"], **permission))


def remove_entity_permissions(
    conn: Connection, entities: list[str], pack_roles: list[str], *, drop_all: bool = False
) -> list[str]:
    """Drop permissions on ``entities`` (``drop_all``: every permission of ``pack_roles``);
    delete pack roles left with no permission and no holder; returns the roles deleted."""
    if entities:
        conn.execute(role_permissions.delete().where(role_permissions.c.entity.in_(entities)))
    if drop_all and pack_roles:
        conn.execute(role_permissions.delete().where(role_permissions.c.role.in_(pack_roles)))
    removed = []
    for name in pack_roles:
        held = conn.execute(
            select(func.count()).select_from(user_roles).where(user_roles.c.role == name)
        ).scalar_one()
        left = conn.execute(
            select(func.count()).select_from(role_permissions).where(role_permissions.c.role == name)
        ).scalar_one()
        if not held and not left:
            conn.execute(roles.delete().where(roles.c.name == name))
            removed.append(name)
    return removed


def set_enforced(conn: Connection) -> None:
    """Switch permission enforcement on (a pack's demo users mean nothing without it)."""
    if conn.execute(access_state.update().where(access_state.c.id == 1).values(enforced=True)).rowcount == 0:
        conn.execute(access_state.insert().values(id=1, enforced=True))


def ensure_units(conn: Connection, units: list[Mapping[str, Any]]) -> int:
    """Create the org units that do not exist yet (parents first); returns how many were created."""
    created = 0
    for index, unit in enumerate(units):
        if _unit_id(conn, unit["name"]) is not None:
            continue
        parent = unit.get("parent")
        parent_id = _unit_id(conn, parent) if parent else None
        if parent and parent_id is None:
            raise RecordInvalid(
                f"org unit '{unit['name']}' names an unknown parent '{parent}'",
                [
                    Problem(
                        f"sample_data/org.json.units[{index}].parent",
                        f"no unit '{parent}' (list parents first)",
                        "reference",
                    )
                ],
            )
        unit_id = conn.execute(
            org_units.insert().values(
                name=unit["name"], label=dict(unit.get("label") or {}), parent_id=parent_id
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(org_unit_tree.insert().values(ancestor_id=unit_id, descendant_id=unit_id, depth=0))
        if parent_id is not None:
            above = conn.execute(
                select(org_unit_tree.c.ancestor_id, org_unit_tree.c.depth).where(
                    org_unit_tree.c.descendant_id == parent_id
                )
            ).all()
            conn.execute(
                org_unit_tree.insert(),
                [{"ancestor_id": a, "descendant_id": unit_id, "depth": depth + 1} for a, depth in above],
            )
        created += 1
    return created


def ensure_users(
    conn: Connection, people: list[Mapping[str, Any]], password_hash: str | None, now: dt.datetime
) -> int:
    """Create the demo users that do not exist yet, with their unit, roles and teams; returns how many."""
    created = 0
    for index, person in enumerate(people):
        where = f"sample_data/org.json.users[{index}]"
        if conn.execute(select(users.c.id).where(users.c.username == person["username"])).first() is not None:
            continue
        user_id = conn.execute(
            users.insert().values(
                username=person["username"],
                password_hash=password_hash or NO_PASSWORD,
                display_name=person.get("display_name") or person["username"],
                email=person.get("email"),
                locale=person.get("locale", "en"),
                is_admin=False,
                is_active=True,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        if person.get("unit"):
            unit_id = _unit_id(conn, person["unit"])
            if unit_id is None:
                raise RecordInvalid(
                    f"user '{person['username']}' names an unknown unit",
                    [Problem(f"{where}.unit", f"no org unit '{person['unit']}'", "reference")],
                )
            conn.execute(user_org_units.insert().values(user_id=user_id, unit_id=unit_id))
        for role in person.get("roles") or []:
            if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
                raise RecordInvalid(
                    f"user '{person['username']}' names an unknown role",
                    [Problem(f"{where}.roles", f"no role '{role}'", "reference")],
                )
            conn.execute(user_roles.insert().values(user_id=user_id, role=role))
        for team in person.get("teams") or []:
            if conn.execute(select(teams.c.name).where(teams.c.name == team)).first() is None:
                conn.execute(teams.insert().values(name=team, label={}))
            conn.execute(team_members.insert().values(team=team, user_id=user_id))
        created += 1
    return created


def _unit_id(conn: Connection, name: str) -> int | None:
    found = conn.execute(select(org_units.c.id).where(org_units.c.name == name)).scalar()
    return int(found) if found is not None else None


PasswordHasher = Callable[[str], str]
