"""Issue 15 item 7: roll-ups over a time window (and formulas reading the clock) stay right as time passes."""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

import pytest

from metamodel.audit.records import install_record_audit
from metamodel.systables import audit_log
from rule_engine.evaluation import shared_expressions
from rule_engine.fieldrules.clockfields import ClockFieldsJob, clock_fields
from rule_engine.fieldrules.spec import site_rules
from rule_engine.scheduler.jobs import run_jobs
from rule_engine.tables import rule_errors
from rule_engine.testing.world import World, entity, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop

ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE") == "postgresql"


def windowed_shop() -> dict[str, Any]:
    bundle = shop()
    bundle["entity"]["member"]["fields"] += [
        {
            "name": "orders_30d",
            "type": "integer",
            "rules": {
                "rollup": {
                    "source": "purchase.member",
                    "kind": "count",
                    "filter": "placed >= add_days(today(), -30)",
                }
            },
        },
        {"name": "joined", "type": "datetime"},
        {"name": "hours_member", "type": "integer", "rules": {"formula": "hours_since(joined)"}},
    ]
    bundle["entity"]["memo"] = entity("memo", [{"name": "text", "type": "text"}])
    bundle["trigger"] = {
        "went_quiet": {
            "name": "went_quiet",
            "entity": "member",
            "event": "update",
            "changed_fields": ["orders_30d"],
            "condition": "orders_30d == 0",
            "actions": [{"type": "create_record", "entity": "memo", "values": {"text": "quiet"}}],
        }
    }
    return bundle


@pytest.fixture
def world(db_url: str) -> World:
    built = make_world(db_url, windowed_shop())
    install_record_audit(built.hooks)
    return built


def job(world: World, budget: float = 20.0) -> ClockFieldsJob:
    return ClockFieldsJob(world.metadata.model, world.db, world.hooks, world.rules.functions, budget=budget)


def at(world: World, days: float = 0, hours: float = 0) -> dt.datetime:
    return world.clock.now + dt.timedelta(days=days, hours=hours)


def test_fields_reading_the_clock_are_found_and_classified(world: World) -> None:
    site = world.metadata.model()
    expressions = shared_expressions(world.rules.functions)
    [member] = clock_fields(site, site_rules(site, expressions), expressions)
    assert (member.entity, set(member.daily), member.live) == (
        "member",
        {"spent_12m", "orders_30d"},
        ("hours_member",),
    )


def test_a_window_edge_passing_moves_the_roll_up_through_the_runtime(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    rt.create("purchase", {"member": ann, "amount": "1200", "placed": "2026-02-20"})
    got = rt.get("member", ann)
    assert (got["orders_30d"], got["spent_12m"], got["tier"], got["lock_version"]) == (
        1,
        "1200.00",
        "gold",
        2,
    )
    # 40 days later nothing was written: before, the stored count stayed 1 until an order came.
    later = at(world, days=40)
    world.clock.now = later
    assert rt.get("member", ann)["orders_30d"] == 1
    report = run_jobs(world.db, [job(world)], later)
    assert report == {"clock_fields": {"member": 1}}
    got = rt.get("member", ann)
    assert (got["orders_30d"], got["spent_12m"], got["tier"], got["lock_version"]) == (
        0,
        "1200.00",
        "gold",
        3,
    )
    entries = world.rows(audit_log, audit_log.c.entity == "member", audit_log.c.record_id == ann)
    assert entries[-1]["changes"] == {"orders_30d": [1, 0]}
    assert [f["record_id"] for f in world.ledger("went_quiet")] == [ann] and world.count("memo") == 1
    # A year on, the 12-month sum and the tier reading it move too; the 30-day count stays.
    next_year = at(world, days=400)
    assert run_jobs(world.db, [job(world)], next_year) == {"clock_fields": {"member": 1}}
    got = rt.get("member", ann)
    assert (got["spent_12m"], got["tier"], got["lock_version"]) == ("0.00", "standard", 4)
    assert world.count("memo") == 1


def test_one_period_runs_once_and_today_fields_once_a_day(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    rt.create("purchase", {"member": ann, "amount": "5", "placed": "2026-02-20"})
    later = at(world, days=40)
    assert run_jobs(world.db, [job(world)], later) == {"clock_fields": {"member": 1}}
    assert run_jobs(world.db, [job(world)], later) == {"clock_fields": "taken"}
    # Same day, next period: the today() fields were checked already (the order is gone from the window
    # only if someone back-dates it, which its own save handles).
    assert run_jobs(world.db, [job(world)], later + dt.timedelta(minutes=20)) == {"clock_fields": {}}
    assert rt.get("member", ann)["lock_version"] == 3


def test_now_fields_follow_every_period(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann", "joined": world.clock.now.isoformat()})["id"]
    assert rt.get("member", ann)["hours_member"] == 0
    for minutes, hours in ((20, 0), (65, 1), (200, 3)):
        moment = at(world, hours=minutes / 60)
        run_jobs(world.db, [job(world)], moment)
        assert rt.get("member", ann)["hours_member"] == hours
    assert rt.get("member", ann)["lock_version"] == 3


def test_a_run_out_of_time_leaves_the_rest_to_the_next_period(world: World) -> None:
    rt = world.runtime()
    members = [rt.create("member", {"name": f"m{i}"})["id"] for i in range(3)]
    for member in members:
        rt.create("purchase", {"member": member, "amount": "5", "placed": "2026-02-20"})
    later = at(world, days=40)
    report = run_jobs(world.db, [job(world, budget=0)], later)
    assert report == {"clock_fields": {"member": 1, "unfinished": True}}
    report = run_jobs(world.db, [job(world)], later + dt.timedelta(minutes=15))
    assert report == {"clock_fields": {"member": 2}}
    assert [rt.get("member", m)["orders_30d"] for m in members] == [0, 0, 0]


def test_a_value_breaking_a_rule_is_logged_and_the_others_still_move(db_url: str) -> None:
    bundle = windowed_shop()
    bundle["entity"]["member"]["rules"] = {
        "validations": [
            {
                "condition": "orders_30d > 0 or name != 'Strict' or spent_12m == 0",
                "message": {"en": "needs orders", "zh-CN": "需要订单"},
            }
        ]
    }
    world = make_world(db_url, bundle)
    rt = world.runtime()
    strict = rt.create("member", {"name": "Strict"})["id"]
    ann = rt.create("member", {"name": "Ann"})["id"]
    for member in (strict, ann):
        rt.create("purchase", {"member": member, "amount": "5", "placed": "2026-02-20"})
    report = run_jobs(world.db, [job(world)], at(world, days=40))
    assert report == {"clock_fields": {"member": 1}}
    assert (rt.get("member", strict)["orders_30d"], rt.get("member", ann)["orders_30d"]) == (1, 0)
    [logged] = world.rows(rule_errors)
    assert (logged["rule"], logged["record_id"]) == ("clock_fields", strict)
    assert "needs orders" in logged["message"]


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite serialises writers: two schedulers cannot overlap")
def test_two_schedulers_write_each_change_once(world: World) -> None:
    rt = world.runtime()
    members = [rt.create("member", {"name": f"m{i}"})["id"] for i in range(5)]
    for member in members:
        rt.create("purchase", {"member": member, "amount": "5", "placed": "2026-02-20"})
    later = at(world, days=40)
    reports: list[Any] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        reports.append(run_jobs(world.db, [job(world)], later)["clock_fields"])

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reports, key=str) == sorted([{"member": 5}, "taken"], key=str)
    assert [rt.get("member", m)["lock_version"] for m in members] == [3] * 5
    assert world.count("memo") == 5
