"""Managing access: org units (a tree), user units, roles and their permissions, role grants, teams, shares."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import IntegrityError

from metamodel.access.fieldadmin import check_field_rules, read_field_rules, replace_field_rules
from metamodel.access.masks import MaskStyles
from metamodel.access.rules import ANY_ENTITY, OPERATIONS, SCOPES, SHARE_PERMISSIONS
from metamodel.errors import Conflict, NotFound, Problem, RecordInvalid
from metamodel.identifiers import NAME_PATTERN
from metamodel.model import EntityModel, SiteModel
from metamodel.systables import (
    access_state,
    org_unit_tree,
    org_units,
    record_shares,
    role_permissions,
    roles,
    team_members,
    teams,
    user_org_units,
    user_role_expiry,
    user_roles,
    users,
)

# Names of org units, roles and teams (the OpenAPI document states the same pattern).
ACCESS_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}$"
_NAME = re.compile(ACCESS_NAME_PATTERN)
_ENTITY = re.compile(NAME_PATTERN)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AccessAdmin:
    """Reads and changes the access tables; every method runs in its own transaction."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.engine = engine
        self.clock = clock

    # --- enforcement switch ----------------------------------------------------------------------
    def enforced(self) -> bool:
        """Whether permissions are enforced (they are once any permission has been set)."""
        with self.engine.connect() as conn:
            return bool(conn.execute(select(access_state.c.enforced).where(access_state.c.id == 1)).scalar())

    def set_enforced(self, on: bool = True) -> None:
        """Switch enforcement on or off for every non-admin user."""
        with self.engine.begin() as conn:
            _set_enforced(conn, on)

    # --- org units -------------------------------------------------------------------------------
    def create_unit(
        self, name: str, parent_id: int | None = None, label: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Create an org unit under ``parent_id`` (None: a root)."""
        _check_name(name, "name")
        with self.engine.begin() as conn:
            if parent_id is not None:
                _unit_row(conn, parent_id, "parent_id")
            try:
                with conn.begin_nested():
                    unit_id = conn.execute(
                        org_units.insert().values(name=name, label=dict(label or {}), parent_id=parent_id)
                    ).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                raise Conflict(f"org unit '{name}' already exists") from None
            conn.execute(org_unit_tree.insert().values(ancestor_id=unit_id, descendant_id=unit_id, depth=0))
            if parent_id is not None:
                conn.execute(
                    org_unit_tree.insert().from_select(
                        ["ancestor_id", "descendant_id", "depth"],
                        select(
                            org_unit_tree.c.ancestor_id,
                            select(unit_id).scalar_subquery(),
                            org_unit_tree.c.depth + 1,
                        ).where(org_unit_tree.c.descendant_id == parent_id),
                    )
                )
            return _unit_dict(_unit_row(conn, int(unit_id)))

    def units(self) -> list[dict[str, Any]]:
        """Return every org unit, ordered by id."""
        with self.engine.connect() as conn:
            return [
                _unit_dict(row) for row in conn.execute(select(org_units).order_by(org_units.c.id)).mappings()
            ]

    def unit(self, unit_id: int) -> dict[str, Any]:
        """Return one org unit with its member user ids."""
        with self.engine.connect() as conn:
            found = _unit_dict(_unit_row(conn, unit_id))
            found["members"] = list(
                conn.execute(
                    select(user_org_units.c.user_id)
                    .where(user_org_units.c.unit_id == unit_id)
                    .order_by(user_org_units.c.user_id)
                ).scalars()
            )
            return found

    def update_unit(
        self,
        unit_id: int,
        *,
        name: str | None = None,
        label: Mapping[str, str] | None = None,
        parent_id: int | str | None = "keep",
    ) -> dict[str, Any]:
        """Rename, relabel or move a unit (with its whole subtree) under another parent."""
        with self.engine.begin() as conn:
            current = _unit_row(conn, unit_id)
            changes: dict[str, Any] = {}
            if name is not None and name != current["name"]:
                _check_name(name, "name")
                changes["name"] = name
            if label is not None:
                changes["label"] = dict(label)
            if parent_id != "keep" and parent_id != current["parent_id"]:
                assert parent_id is None or isinstance(parent_id, int)
                self._move(conn, unit_id, parent_id)
                changes["parent_id"] = parent_id
            if changes:
                try:
                    with conn.begin_nested():
                        conn.execute(org_units.update().where(org_units.c.id == unit_id).values(changes))
                except IntegrityError:
                    raise Conflict(f"org unit '{name}' already exists") from None
            return _unit_dict(_unit_row(conn, unit_id))

    def _move(self, conn: Connection, unit_id: int, parent_id: int | None) -> None:
        subtree = list(
            conn.execute(
                select(org_unit_tree.c.descendant_id).where(org_unit_tree.c.ancestor_id == unit_id)
            ).scalars()
        )
        if parent_id is not None:
            _unit_row(conn, parent_id, "parent_id")
            if parent_id in subtree:
                raise RecordInvalid(
                    "a unit cannot move below itself",
                    [Problem("parent_id", f"unit {parent_id} is inside unit {unit_id}'s subtree", "cycle")],
                )
        # Cut the subtree's links to its old ancestors, then link it below every ancestor of the new parent.
        conn.execute(
            delete(org_unit_tree).where(
                org_unit_tree.c.descendant_id.in_(subtree), org_unit_tree.c.ancestor_id.not_in(subtree)
            )
        )
        if parent_id is not None:
            above = conn.execute(
                select(org_unit_tree.c.ancestor_id, org_unit_tree.c.depth).where(
                    org_unit_tree.c.descendant_id == parent_id
                )
            ).all()
            below = conn.execute(
                select(org_unit_tree.c.descendant_id, org_unit_tree.c.depth).where(
                    org_unit_tree.c.ancestor_id == unit_id
                )
            ).all()
            rows = [
                {"ancestor_id": a, "descendant_id": d, "depth": da + dd + 1}
                for a, da in above
                for d, dd in below
            ]
            conn.execute(org_unit_tree.insert(), rows)

    def delete_unit(self, unit_id: int) -> None:
        """Delete an org unit that has no sub-units and no members."""
        with self.engine.begin() as conn:
            _unit_row(conn, unit_id)
            children = conn.execute(select(func.count()).where(org_units.c.parent_id == unit_id)).scalar_one()
            members = conn.execute(
                select(func.count()).where(user_org_units.c.unit_id == unit_id)
            ).scalar_one()
            if children or members:
                raise Conflict(
                    f"org unit {unit_id} still has {children} sub-unit(s) and {members} member(s); move them first",
                    blocking={"units": children, "members": members},
                )
            conn.execute(org_unit_tree.delete().where(org_unit_tree.c.descendant_id == unit_id))
            conn.execute(org_units.delete().where(org_units.c.id == unit_id))

    def set_user_unit(self, user_id: int, unit_id: int | None) -> None:
        """Put a user in one org unit (None: in none)."""
        with self.engine.begin() as conn:
            _user_row(conn, user_id)
            conn.execute(user_org_units.delete().where(user_org_units.c.user_id == user_id))
            if unit_id is not None:
                _unit_row(conn, unit_id, "unit_id")
                conn.execute(user_org_units.insert().values(user_id=user_id, unit_id=unit_id))

    # --- roles and permissions -------------------------------------------------------------------
    def create_role(self, name: str, label: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Create a role."""
        _check_name(name, "name")
        try:
            with self.engine.begin() as conn:
                conn.execute(roles.insert().values(name=name, label=dict(label or {})))
        except IntegrityError:
            raise Conflict(f"role '{name}' already exists") from None
        return {"name": name, "label": dict(label or {})}

    def roles(self) -> list[dict[str, Any]]:
        """Return every role with its permissions."""
        with self.engine.connect() as conn:
            found = [dict(r) for r in conn.execute(select(roles).order_by(roles.c.name)).mappings()]
            for role in found:
                role["permissions"] = _permissions(conn, role["name"])
            return found

    def permissions(self, role: str) -> list[dict[str, str]]:
        """Return a role's permissions: entity, operation and scope."""
        with self.engine.connect() as conn:
            _role_row(conn, role)
            return _permissions(conn, role)

    def set_permissions(self, role: str, permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Replace a role's permissions; switches enforcement on."""
        wanted = _check_permissions(permissions)
        with self.engine.begin() as conn:
            _role_row(conn, role)
            conn.execute(role_permissions.delete().where(role_permissions.c.role == role))
            if wanted:
                conn.execute(role_permissions.insert(), [{"role": role, **p} for p in wanted])
            _set_enforced(conn, True)
            return _permissions(conn, role)

    def grant(self, role: str, entity: str, operation: str, scope: str = "all") -> None:
        """Add (or change the scope of) one permission of a role; switches enforcement on."""
        (permission,) = _check_permissions([{"entity": entity, "operation": operation, "scope": scope}])
        with self.engine.begin() as conn:
            _role_row(conn, role)
            table = role_permissions
            key = (table.c.role == role, table.c.entity == entity, table.c.operation == operation)
            conn.execute(table.delete().where(*key))
            conn.execute(table.insert().values(role=role, **permission))
            _set_enforced(conn, True)

    def revoke(self, role: str, entity: str, operation: str) -> None:
        """Remove one permission of a role."""
        with self.engine.begin() as conn:
            table = role_permissions
            conn.execute(
                table.delete().where(
                    table.c.role == role, table.c.entity == entity, table.c.operation == operation
                )
            )

    # --- field rules -----------------------------------------------------------------------------
    def field_rules(self, role: str) -> list[dict[str, Any]]:
        """Return a role's field rules: entity, field, access (hidden|readonly|masked), mask, reveal."""
        with self.engine.connect() as conn:
            _role_row(conn, role)
            return read_field_rules(conn, role)

    def set_field_rules(
        self,
        role: str,
        rules: Iterable[Mapping[str, Any]],
        model: SiteModel,
        styles: MaskStyles | None = None,
    ) -> list[dict[str, Any]]:
        """Replace a role's field rules, checked against the published ``model``; 422 names what is wrong."""
        rows = check_field_rules(rules, model, styles or MaskStyles.default())
        with self.engine.begin() as conn:
            return replace_field_rules(conn, role, rows)

    # --- role grants -----------------------------------------------------------------------------
    def assign_role(self, user_id: int, role: str, expires_at: dt.datetime | None = None) -> None:
        """Give a user a role, until ``expires_at`` when given (assigning again replaces the expiry)."""
        with self.engine.begin() as conn:
            _user_row(conn, user_id)
            _role_row(conn, role)
            key = (user_roles.c.user_id == user_id, user_roles.c.role == role)
            if conn.execute(select(user_roles.c.user_id).where(*key)).first() is None:
                conn.execute(user_roles.insert().values(user_id=user_id, role=role))
            conn.execute(
                user_role_expiry.delete().where(
                    user_role_expiry.c.user_id == user_id, user_role_expiry.c.role == role
                )
            )
            if expires_at is not None:
                conn.execute(
                    user_role_expiry.insert().values(user_id=user_id, role=role, expires_at=expires_at)
                )

    def unassign_role(self, user_id: int, role: str) -> None:
        """Take a role from a user; NotFound when she does not hold it."""
        with self.engine.begin() as conn:
            result = conn.execute(
                user_roles.delete().where(user_roles.c.user_id == user_id, user_roles.c.role == role)
            )
            if result.rowcount == 0:
                raise NotFound(f"user {user_id} does not hold role '{role}'")

    def user_access(self, user_id: int) -> dict[str, Any]:
        """Return a user's org unit, roles (with expiry) and teams."""
        with self.engine.connect() as conn:
            user = _user_row(conn, user_id)
            unit = conn.execute(
                select(user_org_units.c.unit_id).where(user_org_units.c.user_id == user_id)
            ).scalar()
            held = conn.execute(
                select(user_roles.c.role, user_role_expiry.c.expires_at)
                .select_from(
                    user_roles.outerjoin(
                        user_role_expiry,
                        (user_role_expiry.c.user_id == user_roles.c.user_id)
                        & (user_role_expiry.c.role == user_roles.c.role),
                    )
                )
                .where(user_roles.c.user_id == user_id)
                .order_by(user_roles.c.role)
            ).all()
            member_of = conn.execute(
                select(team_members.c.team)
                .where(team_members.c.user_id == user_id)
                .order_by(team_members.c.team)
            ).scalars()
            return {
                "user_id": user_id,
                "username": user["username"],
                "is_admin": bool(user["is_admin"]),
                "unit_id": unit,
                "roles": [{"role": r, "expires_at": _iso(e)} for r, e in held],
                "teams": list(member_of),
            }

    # --- teams -----------------------------------------------------------------------------------
    def create_team(self, name: str, label: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Create a team."""
        _check_name(name, "name")
        try:
            with self.engine.begin() as conn:
                conn.execute(teams.insert().values(name=name, label=dict(label or {})))
        except IntegrityError:
            raise Conflict(f"team '{name}' already exists") from None
        return {"name": name, "label": dict(label or {})}

    def add_member(self, team: str, user_id: int) -> None:
        """Add a user to a team (no-op when she is in it)."""
        with self.engine.begin() as conn:
            _user_row(conn, user_id)
            if conn.execute(select(teams.c.name).where(teams.c.name == team)).first() is None:
                raise NotFound(f"team '{team}' does not exist")
            key = (team_members.c.team == team, team_members.c.user_id == user_id)
            if conn.execute(select(team_members.c.team).where(*key)).first() is None:
                conn.execute(team_members.insert().values(team=team, user_id=user_id))

    def remove_member(self, team: str, user_id: int) -> None:
        """Take a user out of a team."""
        with self.engine.begin() as conn:
            conn.execute(
                team_members.delete().where(team_members.c.team == team, team_members.c.user_id == user_id)
            )

    # --- shares ----------------------------------------------------------------------------------
    def share(
        self,
        model: EntityModel,
        record_id: int,
        *,
        user_id: int | None = None,
        team: str | None = None,
        permission: str = "read",
        expires_at: dt.datetime | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        """Share one record with a user or a team, for reading or writing, optionally until ``expires_at``."""
        problems = []
        if (user_id is None) == (team is None):
            problems.append(Problem("user_id", "give either user_id or team", "required"))
        if permission not in SHARE_PERMISSIONS:
            problems.append(
                Problem("permission", f"must be one of: {', '.join(SHARE_PERMISSIONS)}", "choice")
            )
        if problems:
            raise RecordInvalid("the share is not valid", problems)
        if model.entity.is_child:
            raise NotFound(f"'{model.name}' records only exist as lines of their parent")
        with self.engine.begin() as conn:
            table = model.table
            if conn.execute(select(table.c.id).where(table.c.id == record_id)).first() is None:
                raise NotFound(f"{model.name} {record_id} does not exist")
            if user_id is not None:
                _user_row(conn, user_id, "user_id")
            elif conn.execute(select(teams.c.name).where(teams.c.name == team)).first() is None:
                raise NotFound(f"team '{team}' does not exist")
            row = {
                "entity_id": model.entity.id,
                "record_id": record_id,
                "user_id": user_id,
                "team": team,
                "permission": permission,
                "expires_at": expires_at,
                "created_at": self.clock(),
                "created_by": created_by,
            }
            share_id = conn.execute(record_shares.insert().values(row)).inserted_primary_key[0]  # type: ignore[index]
            return _share_dict({"id": share_id, **row}, model.name)

    def shares(self, model: EntityModel, record_id: int) -> list[dict[str, Any]]:
        """Return the shares of one record (expired ones included), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(record_shares)
                .where(record_shares.c.entity_id == model.entity.id, record_shares.c.record_id == record_id)
                .order_by(record_shares.c.id)
            ).mappings()
            return [_share_dict(row, model.name) for row in rows]

    def unshare(self, share_id: int) -> None:
        """Remove a share; NotFound when there is none with this id."""
        with self.engine.begin() as conn:
            if conn.execute(record_shares.delete().where(record_shares.c.id == share_id)).rowcount == 0:
                raise NotFound(f"share {share_id} does not exist")


def _set_enforced(conn: Connection, on: bool) -> None:
    if conn.execute(access_state.update().where(access_state.c.id == 1).values(enforced=on)).rowcount == 0:
        conn.execute(access_state.insert().values(id=1, enforced=on))


def _check_name(name: Any, path: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise RecordInvalid(
            f"'{str(name)[:80]}' is not a valid name",
            [Problem(path, "use 1-80 letters, digits, '_', '.' or '-', starting with a letter", "format")],
        )


def _check_permissions(permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    checked: list[dict[str, str]] = []
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(permissions):
        where = f"permissions[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, "expected an object", "type"))
            continue
        entity, operation, scope = item.get("entity"), item.get("operation"), item.get("scope", "all")
        if not isinstance(entity, str) or not (entity == ANY_ENTITY or _ENTITY.match(entity)):
            problems.append(Problem(f"{where}.entity", "must be an entity name or '*'", "format"))
        if operation not in OPERATIONS:
            problems.append(
                Problem(f"{where}.operation", f"must be one of: {', '.join(OPERATIONS)}", "choice")
            )
        if scope not in SCOPES:
            problems.append(Problem(f"{where}.scope", f"must be one of: {', '.join(SCOPES)}", "choice"))
        key = (str(entity), str(operation))
        if key in seen:
            problems.append(Problem(where, f"{entity}/{operation} is given twice", "duplicate"))
        seen.add(key)
        checked.append({"entity": str(entity), "operation": str(operation), "scope": str(scope)})
    if problems:
        raise RecordInvalid("the permissions are not valid", problems)
    return checked


def _permissions(conn: Connection, role: str) -> list[dict[str, str]]:
    rows = conn.execute(
        select(role_permissions.c.entity, role_permissions.c.operation, role_permissions.c.scope)
        .where(role_permissions.c.role == role)
        .order_by(role_permissions.c.entity, role_permissions.c.operation)
    ).mappings()
    return [dict(r) for r in rows]


def _unit_row(conn: Connection, unit_id: int, path: str = "") -> Any:
    row = conn.execute(select(org_units).where(org_units.c.id == unit_id)).mappings().first()
    if row is None:
        if path:
            raise RecordInvalid(
                f"org unit {unit_id} does not exist",
                [Problem(path, f"org unit {unit_id} does not exist", "reference")],
            )
        raise NotFound(f"org unit {unit_id} does not exist")
    return row


def _user_row(conn: Connection, user_id: int, path: str = "") -> Any:
    row = (
        conn.execute(select(users.c.id, users.c.username, users.c.is_admin).where(users.c.id == user_id))
        .mappings()
        .first()
    )
    if row is None:
        if path:
            raise RecordInvalid(
                f"user {user_id} does not exist",
                [Problem(path, f"user {user_id} does not exist", "reference")],
            )
        raise NotFound(f"user {user_id} does not exist")
    return row


def _role_row(conn: Connection, role: str) -> None:
    if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
        raise NotFound(f"role '{role}' does not exist")


def _unit_dict(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "label": row["label"] or {}, "parent_id": row["parent_id"]}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _share_dict(row: Any, entity: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "entity": entity,
        "record_id": row["record_id"],
        "user_id": row["user_id"],
        "team": row["team"],
        "permission": row["permission"],
        "expires_at": _iso(row["expires_at"]),
        "created_at": _iso(row["created_at"]),
        "created_by": row["created_by"],
    }
