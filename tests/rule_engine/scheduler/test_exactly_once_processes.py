"""Real scheduler processes: killed mid-firing and restarted, or racing each other, fire everything once."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from rule_engine.tables import firings
from rule_engine.testing.world import T0, World, entity, make_world
from tests.rule_engine.scheduler.blocking_plugin import Checkpoint

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
BUNDLE: dict[str, Any] = {
    "entity": {
        "lead": entity(
            "lead",
            [{"name": "name", "type": "text"}, {"name": "met_at", "type": "datetime", "indexed": True}],
        ),
        "call": entity(
            "call",
            [
                {"name": "subject", "type": "text"},
                {"name": "lead", "type": "link", "target": "lead", "on_delete": "cascade"},
            ],
        ),
    },
    "trigger": {
        "follow": {
            "name": "follow",
            "entity": "lead",
            "event": "time",
            "schedule": {"relative_to": "met_at", "offset_hours": 24},
            "actions": [
                {
                    "type": "create_record",
                    "entity": "call",
                    "link_field": "lead",
                    "values": {"subject": {"expr": "name"}},
                },
                {"type": "checkpoint"},
            ],
        }
    },
}


def seeded(db_url: str, count: int) -> World:
    world = make_world(db_url, BUNDLE, actions=[Checkpoint])
    table = world.metadata.model().entity("lead").table
    met_at = T0 - dt.timedelta(hours=30)
    rows = [
        {"name": f"lead {i}", "met_at": met_at, "lock_version": 1, "created_at": met_at, "updated_at": met_at}
        for i in range(count)
    ]
    with world.db.begin() as conn:
        conn.execute(table.insert(), rows)
    return world


def scheduler(
    db_url: str, *args: str, block_at: int | None = None, idle_ms: int | None = None
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CRM_TEST_DB_URL": db_url,
        "CRM_TEST_NOW": T0.isoformat(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    env.pop("CRM_TEST_BLOCK_AT", None)
    if block_at is not None:
        env["CRM_TEST_BLOCK_AT"] = str(block_at)
    if idle_ms is not None:
        env["CRM_TEST_IDLE_MS"] = str(idle_ms)
    return subprocess.Popen(
        [sys.executable, str(HERE / "scheduler_main.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the scheduler process said nothing in time"
    line = proc.stdout.readline()
    assert line, f"the scheduler process ended: {proc.stderr.read() if proc.stderr else ''}"
    return line.strip()


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def assert_each_fired_once(world: World, count: int) -> None:
    calls = world.metadata.model().entity("call").table
    with world.db.connect() as conn:
        per_lead = conn.execute(sql_select(calls.c.lead, func.count()).group_by(calls.c.lead)).all()
        keys = conn.execute(sql_select(firings.c.record_id, firings.c.status)).all()
    assert len(per_lead) == count and {n for _, n in per_lead} == {1}
    assert len(keys) == count and {status for _, status in keys} == {"done"}
    assert len({record_id for record_id, _ in keys}) == count


def test_killed_mid_firing_and_restarted_fires_everything_exactly_once(db_url: str) -> None:
    world = seeded(db_url, 20)
    proc = scheduler(db_url, block_at=8)
    try:
        assert read_line(proc) == "BLOCKED 8"
        proc.kill()  # SIGKILL, inside the firing transaction of lead 8
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert world.count(firings) == 7 and world.count("call") == 7  # lead 8's firing left nothing behind
    report = finish(scheduler(db_url, "--once"))
    assert report["firing"]["fired"] == 13
    assert_each_fired_once(world, 20)
    assert finish(scheduler(db_url, "--once"))["firing"]["fired"] == 0


@pytest.mark.postgres
def test_two_scheduler_processes_at_once_neither_duplicate_nor_skip(db_url: str) -> None:
    count = 400
    world = seeded(db_url, count)
    procs = [scheduler(db_url, "--once") for _ in range(2)]
    reports = [finish(proc) for proc in procs]
    assert sum(r["firing"]["fired"] for r in reports) == count
    assert_each_fired_once(world, count)


@pytest.mark.postgres
def test_a_frozen_scheduler_stalls_nobody_and_its_claim_is_released(db_url: str) -> None:
    world = seeded(db_url, 20)
    frozen = scheduler(db_url, block_at=8, idle_ms=10_000)
    try:
        assert read_line(frozen) == "BLOCKED 8"  # idle in its firing transaction of lead 8
        blocked_at = time.monotonic()
        report = finish(scheduler(db_url, "--once"))  # skips lead 8 at once instead of waiting on it
        assert report["firing"]["fired"] == 12 and report["firing"]["outcomes"].get("busy") == 1
        assert time.monotonic() - blocked_at < 10, "too slow to see the claim held"
        time.sleep(
            max(0.0, blocked_at + 11 - time.monotonic())
        )  # the server ends the frozen session, which releases its claim
        assert finish(scheduler(db_url, "--once"))["firing"]["fired"] == 1
    finally:
        frozen.kill()
        frozen.wait(timeout=30)
    assert_each_fired_once(world, 20)
