"""Claiming a record from the pool and releasing it back, through the record runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select

from metamodel.access.grants import bypasses
from metamodel.access.rules import CLAIM
from metamodel.errors import Conflict, NotFound
from metamodel.model import EntityModel
from metamodel.pool.config import PoolConfig, pool_config
from metamodel.pool.errors import AlreadyClaimed, ClaimLimitReached, NoPool, NotInPool
from metamodel.pool.holdings import claimed_count
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users


class LeadPool:
    """Claim and release on top of one record runtime; each call is one transaction."""

    def __init__(self, runtime: RecordRuntime) -> None:
        self.runtime = runtime

    def claim(self, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        """Make the actor the owner of a record nobody owns; refused when taken or over her claim limit."""
        model, config = self._pool(entity)
        if actor.user_id is None:
            raise AlreadyClaimed("pool.system_claim", "only a user can claim a record")
        with self._transaction() as conn:
            if conn.dialect.name == "postgresql":
                # One claim at a time per user, so two parallel claims cannot both pass her limit.
                conn.execute(select(users.c.id).where(users.c.id == actor.user_id).with_for_update())
            try:
                record = self.runtime.get(entity, record_id, actor, conn)
            except NotFound:
                # Claimed a moment ago by someone else (she saw it in the pool): say so, not "no such record".
                if self._may_claim(conn, model, actor) and _owned(conn, model, record_id):
                    raise AlreadyClaimed(
                        "pool.gone",
                        f"{entity} {record_id} is no longer in the pool",
                        entity=entity,
                        id=record_id,
                    ) from None
                raise
            owner = record.get("owner_id")
            if owner == actor.user_id:
                raise AlreadyClaimed(
                    "pool.yours", f"{entity} {record_id} is already yours", entity=entity, id=record_id
                )
            if owner is not None:
                raise AlreadyClaimed(
                    "pool.taken",
                    f"{entity} {record_id} has been claimed by someone else",
                    entity=entity,
                    id=record_id,
                )
            if config.claim_limit is not None:
                held = claimed_count(conn, model, actor.user_id)
                if held >= config.claim_limit:
                    raise ClaimLimitReached(
                        "pool.limit",
                        f"you already hold {held} {entity} records claimed from the pool, the limit is "
                        f"{config.claim_limit}; release or close one first",
                        entity=entity,
                        limit=config.claim_limit,
                        held=held,
                    )
            try:
                return self.runtime.set_owner(
                    entity,
                    record_id,
                    actor.user_id,
                    actor,
                    operation="claim",
                    expected_version=record["lock_version"],
                    conn=conn,
                )
            except (Conflict, NotFound):
                # Another claim committed between our read and our write (PostgreSQL): the record is
                # gone from her pool (the runtime's second read no longer sees it) or its version moved.
                raise AlreadyClaimed(
                    "pool.taken",
                    f"{entity} {record_id} has been claimed by someone else",
                    entity=entity,
                    id=record_id,
                ) from None

    def release(self, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        """Put a record back into the pool (its owner, or whoever may update it)."""
        self._pool(entity)
        with self._transaction() as conn:
            record = self.runtime.get(entity, record_id, actor, conn)
            if record.get("owner_id") is None:
                raise NotInPool(
                    "pool.not_claimed",
                    f"{entity} {record_id} is already in the pool",
                    entity=entity,
                    id=record_id,
                )
            return self.runtime.set_owner(
                entity,
                record_id,
                None,
                actor,
                operation="release",
                expected_version=record["lock_version"],
                conn=conn,
            )

    def _pool(self, entity: str) -> tuple[EntityModel, PoolConfig]:
        model = self.runtime.model.entity(entity)
        config = pool_config(model.entity)
        if config is None:
            raise NoPool("pool.none", f"{entity} records have no pool", entity=entity)
        return model, config

    def _may_claim(self, conn: Connection, model: EntityModel, actor: Actor) -> bool:
        resolved = self.runtime.resolve(actor, conn)
        return (
            bypasses(resolved)
            or not resolved.grants.enforced
            or bool(resolved.grants.scopes(model.name, CLAIM))
        )

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        # SQLite: BEGIN IMMEDIATE takes the write lock before the read, so a second claim waits and
        # then sees the first one's owner instead of failing with "database is locked".
        with self.runtime.engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            yield conn


def _owned(conn: Connection, model: EntityModel, record_id: int) -> bool:
    table = model.table
    found = conn.execute(select(table.c.owner_id).where(table.c.id == record_id)).first()
    return found is not None and found[0] is not None
