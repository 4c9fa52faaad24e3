"""The hooks that make the record runtime enforce permissions, row scopes and shares."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, false, literal, or_, select

from metamodel.access.errors import AccessDenied
from metamodel.access.grants import Grants, bypasses, resolve_actor
from metamodel.access.rules import ALL, ANY_ENTITY, CLAIM, RELEASE
from metamodel.access.scopes import owner_conditions, record_condition, sees_pool
from metamodel.access.unitscope import unit_decides
from metamodel.model import EntityModel
from metamodel.records.hooks import AccessRequest, Actor, DeleteEvent, RecordHooks, authorized_fields
from metamodel.systables import record_shares


class AccessControl:
    """Resolves actors, scopes queries, checks operations and drops the shares of deleted records."""

    def resolve(self, actor: Actor, conn: Connection) -> Actor:
        """Attach the actor's grants (an actor resolver of the runtime)."""
        return resolve_actor(actor, conn)

    def scope(self, model: EntityModel, actor: Actor) -> ColumnElement[bool] | None:
        """Return the read condition of ``model`` records for ``actor`` (a query scope of the runtime)."""
        if bypasses(actor):
            return None
        grants = actor.grants
        if not isinstance(grants, Grants):
            return false()  # not resolved: show nothing rather than everything
        if not grants.enforced:
            return None
        if model.entity.is_child:
            return false()  # lines are read through their parent record, which is scoped
        return record_condition(model, grants, "read", _now(actor))

    def check(self, request: AccessRequest) -> None:
        """Refuse an operation the actor's roles do not allow (a permission check of the runtime)."""
        actor = request.actor
        if bypasses(actor):
            return
        grants = actor.grants
        entity = request.entity.name
        if not isinstance(grants, Grants):
            raise AccessDenied(entity, request.operation, "access could not be checked for this user")
        if not grants.enforced:
            return
        if request.operation == "update" and request.values is not None:
            covered = authorized_fields(request.conn, entity, request.record_id)
            if covered and set(request.values) <= covered:
                return  # part of an operation checked on its own, e.g. a transition moving the state
        if request.entity.entity.is_child:
            raise AccessDenied(
                entity, request.operation, f"{entity} lines are only reached through their parent record"
            )
        if request.operation in (CLAIM, RELEASE):
            self._check_pool(request, grants)
            return
        scopes = grants.scopes(entity, request.operation)
        if not scopes and request.operation == "read" and sees_pool(request.entity, grants):
            return  # a pool-only role reads the records without owner (the scope says which)
        if not scopes:
            raise AccessDenied(entity, request.operation)
        if request.record_id is not None:
            self._check_record(request, grants)
        owner = (request.values or {}).get("owner_id")
        if request.operation == "create" and owner is None:
            owner = actor.user_id
        if ALL in scopes or unit_decides(request, grants, scopes):
            return
        if owner is not None:
            self._check_owner(request.conn, entity, request.operation, grants, scopes, owner)

    def _check_pool(self, request: AccessRequest, grants: Grants) -> None:
        # Claim: the claim permission (the record was read through the pool scope, so it is visible).
        # Release: the owner who could claim it, or whoever may update the record (her manager).
        entity, operation = request.entity.name, request.operation
        claimer = bool(grants.scopes(entity, CLAIM))
        if operation == CLAIM:
            if not claimer:
                raise AccessDenied(entity, operation, f"you may not claim {entity} records from the pool")
            return
        table = request.entity.table
        owner = request.conn.execute(select(table.c.owner_id).where(table.c.id == request.record_id)).scalar()
        if claimer and owner == grants.user_id:
            return
        if not grants.scopes(entity, "update"):
            raise AccessDenied(entity, operation, f"you may not release {entity} records to the pool")
        self._check_record(dataclasses.replace(request, operation="update"), grants)

    def _check_record(self, request: AccessRequest, grants: Grants) -> None:
        condition = record_condition(request.entity, grants, request.operation, _now(request.actor))
        if condition is None:
            return
        table = request.entity.table
        found = request.conn.execute(
            select(table.c.id).where(table.c.id == request.record_id, condition)
        ).first()
        if found is None:
            raise AccessDenied(
                request.entity.name,
                request.operation,
                f"you may not {request.operation} {request.entity.name} {request.record_id}: "
                "it is outside the records your roles let you change",
            )

    def _check_owner(
        self,
        conn: Connection,
        entity: str,
        operation: str,
        grants: Grants,
        scopes: frozenset[str],
        owner: int,
    ) -> None:
        # A record may only be created for (or handed to) an owner inside the user's own scope.
        parts = owner_conditions(literal(owner, BigInteger), grants.user_id, grants.unit_id, scopes)
        if not parts or conn.execute(select(literal(1)).where(or_(*parts))).first() is None:
            raise AccessDenied(
                entity, operation, f"you may not {operation} {entity} records owned by user {owner}"
            )

    def forget_shares(self, event: DeleteEvent) -> None:
        """Delete the shares of a deleted record, so a later record reusing its id is not shared."""
        event.conn.execute(
            record_shares.delete().where(
                record_shares.c.entity_id == event.entity.entity.id,
                record_shares.c.record_id == event.record["id"],
            )
        )


def install_access_control(hooks: RecordHooks, control: AccessControl | None = None) -> RecordHooks:
    """Register access control on the runtime hooks (once, at start-up); returns the hooks."""
    control = control or AccessControl()
    hooks.actor_resolvers.append(control.resolve)
    hooks.query_scopes.append(control.scope)
    hooks.permission_checks.append(control.check)
    hooks.after_delete.append(control.forget_shares)
    return hooks


def require(conn: Connection, actor: Actor, entity: str, operation: str) -> Actor:
    """Refuse ``operation`` (e.g. export, import, transition, configure) unless a role allows it; returns the resolved actor."""
    actor = resolve_actor(actor, conn)
    if not permits(actor, entity, operation):
        raise AccessDenied(entity, operation)
    return actor


def permits(actor: Actor, entity: str, operation: str) -> bool:
    """Whether a resolved actor's roles allow ``operation`` on ``entity`` (``require`` without reading)."""
    grants: Any = actor.grants
    if bypasses(actor):
        return True
    if not isinstance(grants, Grants):
        return False  # not resolved: allow nothing rather than everything
    return not grants.enforced or bool(grants.scopes(entity, operation))


def permitted_ids(
    conn: Connection, model: EntityModel, actor: Actor, operation: str, ids: list[int]
) -> set[int]:
    """Return those of ``ids`` whose rows a resolved actor's scopes open for ``operation`` (e.g. export)."""
    grants: Any = actor.grants
    if bypasses(actor) or not isinstance(grants, Grants) or not grants.enforced or not ids:
        return set(ids) if bypasses(actor) or (isinstance(grants, Grants) and not grants.enforced) else set()
    condition = record_condition(model, grants, operation, _now(actor))
    if condition is None:
        return set(ids)
    table = model.table
    return set(conn.execute(select(table.c.id).where(table.c.id.in_(ids), condition)).scalars())


def require_configure(conn: Connection, actor: Actor) -> Actor:
    """Refuse changing metadata unless the actor is an administrator (or the system) or one of her roles
    grants "configure" on every entity ('*'); with enforcement off only administrators may."""
    if bypasses(actor):
        return actor
    actor = resolve_actor(actor, conn)
    if not configures(actor):
        raise AccessDenied(
            ANY_ENTITY,
            "configure",
            "you may not change the metadata: it needs an administrator or a role allowed to configure every entity ('*')",
        )
    return actor


def configures(actor: Actor) -> bool:
    """Whether a resolved actor may change the metadata (``require_configure`` without reading)."""
    if bypasses(actor):
        return True
    grants: Any = actor.grants
    if not isinstance(grants, Grants):
        return False
    return bool(grants.enforced and grants.permissions.get((ANY_ENTITY, "configure")))


def _now(actor: Actor) -> dt.datetime:
    return actor.now or dt.datetime.now(dt.UTC)
