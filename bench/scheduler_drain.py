"""Benchmark of draining a backlog of due firings on PostgreSQL: one scheduler vs two at once.

``run(ctx)`` loads 20,000 due records (5,000 with --quick) into a fresh schema of the PostgreSQL server at
$CRM_BENCH_PG_URL (default the test server), drains them with one scheduler process, resets the ledger,
and drains them again with two processes started together.  It reports both drain times and their ratio
(target >= 1.6: the second scheduler claims with SKIP LOCKED instead of waiting on the first).
Without a reachable server it reports nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.core import Context, Figure
from rule_engine.scheduler.runner import run_due
from rule_engine.tables import firings, rule_watermarks
from rule_engine.testing.world import T0, World, entity, make_world

PG_URL = os.environ.get("CRM_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
BUNDLE: dict[str, Any] = {
    "entity": {
        "lead": entity(
            "lead",
            [
                {"name": "name", "type": "text"},
                {"name": "met_at", "type": "datetime", "indexed": True},
                {"name": "note", "type": "text"},
            ],
        )
    },
    "trigger": {
        "follow": {
            "name": "follow",
            "entity": "lead",
            "event": "time",
            "schedule": {"relative_to": "met_at", "offset_hours": 24},
            "actions": [{"type": "set_fields", "values": {"note": "called"}}],
        }
    },
}


def _drain(url: str, start_at: float) -> dict[str, float]:
    world = make_world(url, None)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    fired = 0
    while True:
        report = run_due(world.db, world.metadata.model(), T0, world.rules, world.hooks, budget=600)
        fired += report.fired
        if not report.fired and not report.outcomes.get("busy"):
            break
    return {"started": started, "ended": time.time(), "fired": fired}


def _drain_with(url: str, processes: int) -> tuple[float, int]:
    start_at = time.time() + 8  # every process builds its engine first, then all start together
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scheduler_drain", url, str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = [json.loads(proc.communicate(timeout=3600)[0].strip().splitlines()[-1]) for proc in procs]
    span = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return span, sum(int(r["fired"]) for r in results)


def _seed(world: World, count: int) -> None:
    table = world.metadata.model().entity("lead").table
    met = T0 - dt.timedelta(hours=30)
    rows = [
        {"name": f"l{i}", "met_at": met, "lock_version": 1, "created_at": met, "updated_at": met}
        for i in range(count)
    ]
    with world.db.begin() as conn:
        conn.execute(table.insert(), rows)


def run(ctx: Context) -> list[Figure]:
    """Drain ``count`` due firings with one scheduler process, then with two; report times and ratio."""
    count = 5_000 if ctx.quick else 20_000
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError:
        print("no PostgreSQL server: skipped", flush=True)
        return []
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        world = make_world(url, BUNDLE)
        _seed(world, count)
        one_s, fired_one = _drain_with(url, 1)
        with world.db.begin() as conn:
            conn.execute(firings.delete())
            conn.execute(rule_watermarks.delete())
        two_s, fired_two = _drain_with(url, 2)
        world.db.dispose()
        if fired_one != count or fired_two != count:
            raise AssertionError(f"fired {fired_one} and {fired_two} of {count}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return [
        Figure(f"scheduler_drain.one_scheduler_{count}_due", round(one_s, 1), "s"),
        Figure(f"scheduler_drain.two_schedulers_{count}_due", round(two_s, 1), "s"),
        Figure("scheduler_drain.two_vs_one_speedup", round(one_s / two_s, 2), "x", 1.6, ">="),
    ]


if __name__ == "__main__":
    print(json.dumps(_drain(sys.argv[1], float(sys.argv[2]))), flush=True)
