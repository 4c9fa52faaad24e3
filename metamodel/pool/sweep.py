"""Returning records without follow-up to the pool: a few set-based statements, however large the table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, false, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.audit.log import write_system_entries
from metamodel.model import EntityModel
from metamodel.pool.config import pool_config
from metamodel.pool.holdings import forget, held_since

BATCH = 2000
ORIGIN = "scheduler"


def return_stale(
    conn: Connection,
    model: EntityModel,
    now: dt.datetime,
    batch: int = BATCH,
    keep: ColumnElement[bool] | None = None,
    zone: dt.tzinfo = dt.UTC,
) -> list[tuple[int, int]]:
    """Return to the pool the records whose owner has not followed up for ``return_after_days``; returns (id, former owner).

    A record is stale when its owner has held it (since her claim or hand-over, else since the
    record was created) and it has not been followed up (the follow-up field, else ``updated_at``)
    for the configured days. Each batch is one SELECT (locking on PostgreSQL, skipping rows another
    transaction holds) and one UPDATE by id; audit entries are written in one bulk insert per batch.
    ``keep`` (the pool's ``return_unless`` as SQL, compiled by the rule engine) spares the records it holds for.
    ``zone`` is the site's time zone, in which a date follow-up field counts its days.
    """
    config = pool_config(model.entity)
    if config is None or not config.return_after_days:
        return []
    days = config.return_after_days
    cutoff = now - dt.timedelta(days=days)
    table = model.table
    if config.follow_up_field:
        column = table.c[config.follow_up_field]
        # A follow-up date is a day of the site's calendar (``zone``), not of UTC.
        is_date = model.fields[config.follow_up_field].type == "date"
        bound = cutoff.astimezone(zone).date() if is_date else cutoff
        quiet = or_(column.is_(None), column < bound)
    else:
        quiet = table.c.updated_at < cutoff
    pick = select(table.c.id, table.c.owner_id).where(
        table.c.owner_id.is_not(None), quiet, held_since(model) < cutoff
    )
    if keep is not None:
        pick = pick.where(not_(func.coalesce(keep, false())))
    pick = pick.order_by(table.c.id).limit(batch)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(of=table, skip_locked=True)
    returned: list[tuple[int, int]] = []
    while True:
        rows = [(int(r[0]), int(r[1])) for r in conn.execute(pick).all()]
        if not rows:
            break
        ids = [record_id for record_id, _ in rows]
        conn.execute(
            table.update()
            .where(table.c.id.in_(ids))
            .values(owner_id=None, lock_version=table.c.lock_version + 1, updated_at=now, updated_by=None)
        )
        forget(conn, model, ids)
        write_system_entries(
            conn,
            "record.pool_return",
            now,
            ORIGIN,
            [
                {
                    "entity": model.name,
                    "record_id": record_id,
                    "summary": f"returned {model.name} {record_id} to the pool: no follow-up for {days} days",
                    "changes": {"owner_id": [owner, None]},
                }
                for record_id, owner in rows
            ],
        )
        returned += rows
        if len(rows) < batch:
            break
    return returned
