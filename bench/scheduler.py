"""Benchmark of the time-trigger scan: finding the due set among many records with one SQL query.

``run(quick)`` loads 1,000,000 records (100,000 when quick) with bulk Core inserts into a file SQLite
database, 1% of them due, and times ``due_records`` (the due query with the condition in SQL and the
NOT EXISTS probe of the ledger).  Separately it times firing a sample of the due records end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from metamodel.database import make_engine, upgrade_database
from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.records.hooks import RecordHooks
from metamodel.versions import MetadataService
from rule_engine.actions.base import ActionRegistry
from rule_engine.actions.builtin import register_builtin_actions
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions import FunctionRegistry, register_builtin_functions
from rule_engine.migrations import VERSIONS
from rule_engine.scheduler.due import due_records
from rule_engine.scheduler.runner import run_due
from rule_engine.triggers import TriggerComponent
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


def _rules(field_types: FieldTypeRegistry) -> tuple[RuleEngine, RecordHooks]:
    rules = RuleEngine(
        field_types,
        register_builtin_functions(FunctionRegistry()),
        register_builtin_actions(ActionRegistry()),
        lambda: NOW,
    )
    rules.add(TriggerComponent())
    hooks = RecordHooks()
    rules.install(hooks)
    return rules, hooks


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


def run(quick: bool) -> list[dict[str, Any]]:
    """Return benchmark entries {name, value, unit, target, ok}."""
    total = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade_database(db, [VERSIONS])
        field_types = register_builtin_field_types(FieldTypeRegistry())
        rules, hooks = _rules(field_types)
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
            started = time.perf_counter()
            items = due_records(conn, site, trigger, NOW, expressions, expected + 1000)
            scan_s = time.perf_counter() - started
        found_ok = len(items) == expected
        sample = min(FIRE_SAMPLE, expected)
        started = time.perf_counter()
        report = run_due(db, site, NOW, rules, hooks, limit=sample)
        fire_s = time.perf_counter() - started
        db.dispose()
    label = f"{total:,} records"
    return [
        {
            "name": f"scheduler: due-set query over {label} (1% due, {expected:,} found)",
            "value": round(scan_s, 3),
            "unit": "s",
            "target": f"< {SCAN_TARGET_S} s",
            "ok": scan_s < SCAN_TARGET_S and found_ok,
        },
        {
            "name": f"scheduler: firing {report.fired} due records (query + ledger + create task, one tx each)",
            "value": round(fire_s / max(1, report.fired) * 1000, 2),
            "unit": "ms/firing",
            "target": "info",
            "ok": report.fired == sample,
        },
        {
            "name": f"scheduler: bulk load of {label}",
            "value": round(load_s, 1),
            "unit": "s",
            "target": "info",
            "ok": True,
        },
    ]


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
