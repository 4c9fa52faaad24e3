"""Benchmark of the backfill of a new formula over N existing records (set-based SQL, batches of 50,000).

``run(ctx)`` loads ``ctx.records`` purchases into a file SQLite database, publishes a version adding
the formula ``amount * qty * 1.125`` (a currency), and times the queued job to the end: one UPDATE
per batch, with its progress row.  It reports records/s (target at least 20,000/s) and checks a
sample of the stored values against the expression evaluator.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select

from bench.core import Context, Figure
from rule_engine.evaluation import shared_expressions
from rule_engine.fieldrules.backfill import pending_jobs, run_job
from rule_engine.fieldrules.compute import Calculator
from rule_engine.fieldrules.spec import site_rules
from rule_engine.testing.world import World, entity, make_world

TARGET = 20_000.0
FORMULA = "amount * qty * 1.125"


def _bundle(with_formula: bool) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"name": "title", "type": "text"},
        {"name": "amount", "type": "currency"},
        {"name": "qty", "type": "integer"},
    ]
    if with_formula:
        fields.append({"name": "gross", "type": "currency", "rules": {"formula": FORMULA}})
    return {"entity": {"purchase": entity("purchase", fields)}}


def _load(world: World, total: int) -> None:
    table = world.metadata.model().entity("purchase").table
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with world.db.begin() as conn:
        batch: list[dict[str, Any]] = []
        for i in range(total):
            batch.append(
                {
                    "title": f"p{i}",
                    "amount": f"{i % 10_000}.{i % 100:02d}",
                    "qty": None if i % 97 == 0 else i % 13,
                    "lock_version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 50_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)


def run(ctx: Context) -> list[Figure]:
    """Time the backfill of a new formula over ``ctx.records`` records."""
    world = make_world(ctx.db_url("derived_backfill"), _bundle(False))
    _load(world, ctx.records)
    world.publish(_bundle(True))  # too big to run inline: the publish queues the job
    site = world.metadata.model()
    expressions = shared_expressions(world.rules.functions)
    rules = site_rules(site, expressions)
    with world.db.connect() as conn:
        (job,) = pending_jobs(conn)
    started = time.perf_counter()
    run_job(world.db, site, rules, expressions, job, world.clock())
    elapsed = time.perf_counter() - started
    table = site.entity("purchase").table
    with world.db.connect() as conn:
        rows = conn.execute(select(table).where(table.c.id % 9973 == 1)).mappings().all()
        calc = Calculator(expressions, site, "purchase", conn, world.clock())
        for row in rows:
            want = calc.formula("gross", FORMULA, row)
            if row["gross"] != want:
                raise AssertionError(f"purchase {row['id']}: {row['gross']} != {want}")
    world.db.dispose()
    rate = ctx.records / max(elapsed, 1e-9)
    return [
        Figure(f"derived.backfill_formula_{ctx.records}_records", round(rate), "records/s", TARGET, ">="),
        Figure(f"derived.backfill_formula_{ctx.records}_records_time", round(elapsed, 2), "s"),
    ]
