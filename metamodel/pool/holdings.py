"""Bookkeeping of who holds a pool record since when: the claim limit counts it, the auto-return reads it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, func, select

from metamodel.model import EntityModel
from metamodel.pool.config import pool_config
from metamodel.records.hooks import DeleteEvent, SaveEvent
from metamodel.systables import pool_holdings


def track_owner(event: SaveEvent) -> None:
    """Note a changed owner of a pool record (an after-save hook): since when she holds it, and whether she claimed it."""
    if event.action != "update" or "owner_id" not in event.values or event.record_id is None:
        return
    if pool_config(event.entity.entity) is None:
        return
    owner = event.values["owner_id"]
    if event.before is not None and event.before.get("owner_id") == owner:
        return
    forget(event.conn, event.entity, [event.record_id])
    if owner is not None:
        event.conn.execute(
            pool_holdings.insert().values(
                entity_id=event.entity.entity.id,
                record_id=event.record_id,
                user_id=owner,
                since=event.actor.now or dt.datetime.now(dt.UTC),
                claimed=event.operation == "claim",
            )
        )


def forget_deleted(event: DeleteEvent) -> None:
    """Drop the holding row of a deleted pool record (an after-delete hook), so a reused id starts clean."""
    if pool_config(event.entity.entity) is not None:
        forget(event.conn, event.entity, [int(event.record["id"])])


def forget(conn: Connection, model: EntityModel, record_ids: list[int]) -> None:
    """Drop the holding rows of records that changed hands or went back to the pool."""
    if record_ids:
        conn.execute(
            pool_holdings.delete().where(
                pool_holdings.c.entity_id == model.entity.id, pool_holdings.c.record_id.in_(record_ids)
            )
        )


def claimed_count(conn: Connection, model: EntityModel, user_id: int) -> int:
    """Return how many records of ``model`` the user claimed from the pool and still owns."""
    table = model.table
    held = and_(table.c.id == pool_holdings.c.record_id, table.c.owner_id == pool_holdings.c.user_id)
    statement = (
        select(func.count())
        .select_from(pool_holdings.join(table, held))
        .where(
            pool_holdings.c.entity_id == model.entity.id,
            pool_holdings.c.user_id == user_id,
            pool_holdings.c.claimed.is_(True),
        )
    )
    return int(conn.execute(statement).scalar_one())


def held_since(model: EntityModel) -> Any:
    """Return SQL for when the record's owner got it: her holding row, else the record's creation."""
    table = model.table
    since = (
        select(pool_holdings.c.since)
        .where(
            pool_holdings.c.entity_id == model.entity.id,
            pool_holdings.c.record_id == table.c.id,
            pool_holdings.c.user_id == table.c.owner_id,
        )
        .scalar_subquery()
    )
    return func.coalesce(since, table.c.created_at)
