"""Benchmark of the lead pool's auto-return: the set-based sweep over N owned records, 1% stale.

``run(ctx)`` loads ``ctx.records`` leads owned by 20 users into a file SQLite database, 1% of them
without follow-up for longer than ``return_after_days``, and times ``return_stale`` (batches of one
SELECT and one UPDATE by id, holding rows dropped, audit entries bulk-inserted) against one
hand-written ``UPDATE ... WHERE`` with the same condition and no bookkeeping, each in a transaction
that is rolled back so every run starts from the same data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, or_

from bench.core import Context, Figure, median
from metamodel.database import make_engine, upgrade_database
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import EntityModel
from metamodel.pool.sweep import return_stale
from metamodel.versions import MetadataService

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAYS = 7
RATIO_TARGET = 4.0  # the sweep with its bookkeeping vs the bare UPDATE
LEAD: dict[str, Any] = {
    "name": "lead",
    "title_field": "company",
    "fields": [
        {"name": "company", "type": "text"},
        {"name": "phone", "type": "phone"},
        {"name": "last_contact_at", "type": "datetime", "indexed": True},
    ],
    "pool": {"contact_fields": ["phone"], "return_after_days": DAYS, "follow_up_field": "last_contact_at"},
}


def _load(model: EntityModel, conn: Connection, total: int) -> int:
    table = model.table
    stale = 0
    batch: list[dict[str, Any]] = []
    created = NOW - dt.timedelta(days=60)
    for i in range(total):
        if i % 100 == 0:
            contact = NOW - dt.timedelta(days=DAYS + 1 + i % 30)
            stale += 1
        else:
            contact = NOW - dt.timedelta(hours=1 + i % (24 * (DAYS - 1)))
        batch.append(
            {
                "company": f"c{i}",
                "phone": f"138{i:08d}",
                "last_contact_at": contact,
                "owner_id": 1 + i % 20,
                "lock_version": 1,
                "created_at": created,
                "updated_at": contact,
            }
        )
        if len(batch) == 50_000:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return stale


def _bare_update(model: EntityModel) -> Callable[[Connection], int]:
    table = model.table
    cutoff = NOW - dt.timedelta(days=DAYS)
    column = table.c.last_contact_at
    statement = (
        table.update()
        .where(
            table.c.owner_id.is_not(None), or_(column.is_(None), column < cutoff), table.c.created_at < cutoff
        )
        .values(owner_id=None)
    )
    return lambda conn: int(conn.execute(statement).rowcount)


def _timed(db: Any, work: Callable[[Connection], int], expected: int) -> float:
    with db.connect() as conn:
        transaction = conn.begin()
        started = time.perf_counter()
        done = work(conn)
        elapsed = time.perf_counter() - started
        transaction.rollback()
    if done != expected:
        raise AssertionError(f"returned {done} records, expected {expected}")
    return elapsed


def run(ctx: Context) -> list[Figure]:
    """Time the auto-return sweep over ``ctx.records`` leads (1% stale) against a bare UPDATE."""
    total = ctx.records
    db = make_engine(ctx.db_url("pool_return"))
    upgrade_database(db)
    metadata = MetadataService(db, register_builtin_field_types(FieldTypeRegistry()))
    metadata.replace_draft(Bundle.from_json({"entity": {"lead": LEAD}}), "bench")
    metadata.publish("bench")
    model = metadata.model().entity("lead")
    with db.begin() as conn:
        expected = _load(model, conn, total)
    sweep = lambda conn: len(return_stale(conn, model, NOW))  # noqa: E731
    bare = _bare_update(model)
    ours, theirs = [], []
    for _ in range(3):
        theirs.append(_timed(db, bare, expected))
        ours.append(_timed(db, sweep, expected))
    db.dispose()
    ratio = median(ours) / max(median(theirs), 1e-9)
    return [
        Figure(
            f"pool.auto_return_{total}_records_1pct_stale_vs_bare_update", round(ratio, 2), "x", RATIO_TARGET
        ),
        Figure(f"pool.auto_return_{total}_records_1pct_stale", round(median(ours), 3), "s"),
    ]
