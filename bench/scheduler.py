"""Benchmark of the time-trigger scan: finding the due set among many records with one SQL query.

``run(ctx)`` loads ``ctx.records`` records (1,000,000; 100,000 with --quick) with bulk Core inserts into a file SQLite
database, 1% of them due, and times ``due_records`` (the due query with the condition in SQL and the
NOT EXISTS probe of the ledger).  Separately it times firing a sample of the due records end to end.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from bench.core import Context, Figure, median
from metamodel.database import make_engine, upgrade_database
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.versions import MetadataService
from rule_engine.assembly import MIGRATIONS, build_rule_engine, install_rule_engine
from rule_engine.evaluation import shared_expressions
from rule_engine.scheduler.due import due_records
from rule_engine.scheduler.runner import run_due
from rule_engine.triggers.spec import find_trigger

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SCAN_TARGET_S = 2.0
FIRE_SAMPLE = 500
BUNDLE: dict[str, Any] = {
    "entity": {
        "drive": {
            "name": "drive",
            "title_field": "customer",
            "fields": [
                {"name": "customer", "type": "text"},
                {"name": "driven_at", "type": "datetime", "indexed": True},
                {"name": "bought", "type": "boolean"},
            ],
        },
        "task": {
            "name": "task",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "drive", "type": "link", "target": "drive", "on_delete": "cascade"},
            ],
        },
    },
    "trigger": {
        "follow_up": {
            "name": "follow_up",
            "entity": "drive",
            "event": "time",
            "condition": "bought == false",
            "schedule": {"relative_to": "driven_at", "offset_hours": 72},
            "actions": [
                {
                    "type": "create_record",
                    "entity": "task",
                    "link_field": "drive",
                    "values": {"title": "Call"},
                }
            ],
        }
    },
}


def _load(metadata: MetadataService, total: int) -> int:
    table = metadata.model().entity("drive").table
    rng = random.Random(7)
    due_window_end = NOW - dt.timedelta(hours=72)
    due = 0
    batch: list[dict[str, Any]] = []
    with metadata.engine.begin() as conn:
        for i in range(total):
            if i % 100 == 0:  # 1%: inside the due window (the last lookback week before now - 72 h)
                at = due_window_end - dt.timedelta(minutes=rng.randrange(1, 7 * 24 * 60))
                due += 1
            elif i % 2:
                at = NOW + dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 60))  # future drives
            else:
                at = NOW - dt.timedelta(days=10 + rng.randrange(0, 700))  # long past the lookback
            batch.append(
                {
                    "customer": f"c{i}",
                    "driven_at": at,
                    "bought": False,
                    "lock_version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(batch) == 50_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    return due


def run(ctx: Context) -> list[Figure]:
    """Time the due-set query over ``ctx.records`` records (1% due) and firing a sample of them."""
    total = ctx.records
    db = make_engine(ctx.db_url("scheduler"))
    upgrade_database(db, MIGRATIONS)
    field_types = register_builtin_field_types(FieldTypeRegistry())
    rules = build_rule_engine(field_types, lambda: NOW)
    hooks = install_rule_engine(rules)
    metadata = MetadataService(db, field_types, checks=[rules.check_bundle])
    metadata.replace_draft(Bundle.from_json(BUNDLE), "bench")
    metadata.publish("bench")
    started = time.perf_counter()
    expected = _load(metadata, total)
    load_s = time.perf_counter() - started
    site = metadata.model()
    trigger = find_trigger(site, "follow_up")
    assert trigger is not None
    expressions = shared_expressions(rules.functions)
    with db.connect() as conn:
        due_records(conn, site, trigger, NOW, expressions, 10)  # warm the compile caches
        scans = []
        for _ in range(3):
            started = time.perf_counter()
            items = due_records(conn, site, trigger, NOW, expressions, expected + 1000)
            scans.append(time.perf_counter() - started)
    if len(items) != expected:
        raise AssertionError(f"the due query found {len(items)} records, expected {expected}")
    sample = min(FIRE_SAMPLE, expected)
    started = time.perf_counter()
    report = run_due(db, site, NOW, rules, hooks, limit=sample)
    fire_s = time.perf_counter() - started
    db.dispose()
    if report.fired != sample:
        raise AssertionError(f"fired {report.fired} of {sample} due records")
    return [
        Figure(f"scheduler.due_scan_{total}_records_1pct_due", round(median(scans), 3), "s", SCAN_TARGET_S),
        Figure("scheduler.firing_per_record", round(fire_s / max(1, report.fired) * 1000, 2), "ms"),
        Figure(f"scheduler.bulk_load_{total}_records", round(load_s, 1), "s"),
    ]
