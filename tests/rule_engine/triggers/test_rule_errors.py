"""Runtime evaluation errors of rules land in the rule-error log; repeated failures switch the rule off."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from metamodel.systables import users
from rule_engine.errorlog import enable_rule
from rule_engine.tables import inbox, rule_errors, rule_health
from rule_engine.testing.world import World, add_user, make_world
from tests.rule_engine.scheduler.test_run_due import met
from tests.rule_engine.scheduler.test_run_due import world_with as lead_world
from tests.rule_engine.triggers.test_event_triggers import bundle, task_for

# Divides by zero for an amount of 100 (a runtime error no publish-time check can see).
SHAKY = {
    "name": "shaky",
    "entity": "deal",
    "event": "create",
    "condition": "1 / (amount - 100) > 0",
    "actions": [task_for("t")],
}


def admin(world: World, name: str = "root") -> int:
    """An active administrator."""
    user = add_user(world.db, name)
    with world.db.begin() as conn:
        conn.execute(update(users).where(users.c.id == user).values(is_admin=True))
    return user


def deals(world: World, *amounts: int) -> list[int]:
    """Create deals with these amounts; returns their ids."""
    runtime = world.runtime()
    return [int(runtime.create("deal", {"title": f"d{a}", "amount": a})["id"]) for a in amounts]


def test_condition_errors_are_logged_per_rule_and_record_with_a_count(db_url: str) -> None:
    """Each failing record gets a row naming rule, record, time, message; a repeat bumps its count."""
    world = make_world(db_url, {**bundle(SHAKY)})
    world.rules.services["rule_disable_after"] = 0  # never switch off here
    [first, second] = deals(world, 100, 100)
    world.runtime().update("deal", first, {"title": "again"})  # update: not this rule's event
    rows = world.rows(rule_errors)
    assert [(r["rule"], r["entity"], r["record_id"], r["count"], r["action"]) for r in rows] == [
        ("shaky", "deal", first, 1, "condition"),
        ("shaky", "deal", second, 1, "condition"),
    ]
    assert "division by zero" in rows[0]["message"].lower() and rows[0]["last_at"] is not None
    world.publish(bundle({**SHAKY, "event": "update"}))
    world.runtime().update("deal", first, {"title": "once more"})
    world.runtime().update("deal", first, {"title": "and again"})
    assert [r["count"] for r in world.rows(rule_errors, rule_errors.c.record_id == first)] == [3]


def test_five_failures_in_a_row_switch_the_rule_off_and_tell_the_admins(db_url: str) -> None:
    """Four failures, a success (resets), then five failures: off, admins told once, the rule no longer runs."""
    world = make_world(db_url, bundle(SHAKY))
    root, other = admin(world), admin(world, "second_admin")
    add_user(world.db, "not_an_admin")
    deals(world, 100, 100, 100, 100, 105)
    assert world.rows(rule_health)[0]["consecutive"] == 0 and world.count("task") == 1
    deals(world, 100, 100, 100, 100)
    assert world.rows(rule_health)[0]["disabled_at"] is None
    deals(world, 100)
    [health] = world.rows(rule_health)
    assert health["disabled_at"] is not None and "division by zero" in health["disabled_reason"].lower()
    told = world.rows(inbox)
    assert sorted(m["user_id"] for m in told) == [root, other]
    assert "shaky" in told[0]["subject"] and told[0]["rule"] == "shaky"
    errors_before = sum(r["count"] for r in world.rows(rule_errors))
    deals(world, 100, 107)  # off: neither fails nor fires
    assert sum(r["count"] for r in world.rows(rule_errors)) == errors_before
    assert world.count("task") == 1 and len(world.rows(inbox)) == 2
    with world.db.begin() as conn:
        assert enable_rule(conn, "shaky") is True
        assert enable_rule(conn, "shaky") is False
    deals(world, 109)
    assert world.count("task") == 2 and world.rows(rule_health)[0]["consecutive"] == 0


def test_a_time_rule_whose_condition_fails_on_every_tick_stops(db_url: str) -> None:
    """A scan-time condition error is logged; after five the rule is off and later ticks leave it alone."""
    world: Any = lead_world(
        db_url, {"type": "set_fields", "values": {"hot": True}}, condition="1 / (len(name) - 1) > 0"
    )
    admin(world)
    for _ in range(3):
        met(world, "x", 30)  # len 1: division by zero
    met(world, "fine", 30)
    world.run_due()
    assert world.rows(rule_health)[0]["consecutive"] == 3
    assert world.rows(rule_health)[0]["disabled_at"] is None
    world.run_due()  # the same three fail again: six in a row (the good one fired on the first tick)
    [health] = world.rows(rule_health)
    assert health["disabled_at"] is not None
    assert len(world.rows(inbox)) == 1
    counts = [r["count"] for r in world.rows(rule_errors)]
    later = met(world, "later", 30)
    world.clock.advance(hours=1)
    assert world.run_due().fired == 0  # off: nothing fires, nothing fails
    assert [r["count"] for r in world.rows(rule_errors)] == counts
    assert world.runtime().get("lead", later)["hot"] is None
    with world.db.begin() as conn:
        enable_rule(conn, "follow")
    assert world.run_due().fired == 1  # switched back on: the good record fires, the bad ones fail again
    assert world.runtime().get("lead", later)["hot"] is True
    assert sum(r["count"] for r in world.rows(rule_errors)) == sum(counts) + 3
