"""run_due fires each due item once, re-checks it at firing time, and rolls back failed firings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from rule_engine.actions.base import Action, ActionContext, ActionFailed
from rule_engine.ledger import due_key
from rule_engine.scheduler.due import DueItem
from rule_engine.scheduler.runner import fire_due
from rule_engine.tables import action_log
from rule_engine.testing.world import T0, World, entity, make_world
from rule_engine.triggers.spec import find_trigger


class FailOnce(Action):
    """Fails the first ``failures`` runs (retry-safe), then succeeds."""

    type = "fail_once"
    retry_safe = True
    schema: ClassVar[dict[str, Any]] = {"type": "object"}
    failures = 1

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        if FailOnce.failures > 0:
            FailOnce.failures -= 1
            raise ActionFailed("not yet")
        return "ok"


class Unsafe(Action):
    """Fails and says running it again is not safe."""

    type = "unsafe"
    schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        raise ActionFailed("half done")


def world_with(db_url: str, *actions: dict[str, Any], condition: str | None = None) -> World:
    trigger: dict[str, Any] = {
        "name": "follow",
        "entity": "lead",
        "event": "time",
        "schedule": {"relative_to": "met_at", "offset_hours": 24},
        "actions": list(actions),
    }
    if condition:
        trigger["condition"] = condition
    return make_world(
        db_url,
        {
            "entity": {
                "lead": entity(
                    "lead",
                    [
                        {"name": "name", "type": "text"},
                        {"name": "met_at", "type": "datetime"},
                        {"name": "hot", "type": "boolean"},
                    ],
                    title_field="name",
                ),
                "call": entity(
                    "call",
                    [
                        {"name": "subject", "type": "text"},
                        {"name": "lead", "type": "link", "target": "lead", "on_delete": "cascade"},
                    ],
                ),
            },
            "trigger": {"follow": trigger},
        },
        actions=[FailOnce, Unsafe],
    )


CALL = {
    "type": "create_record",
    "entity": "call",
    "link_field": "lead",
    "values": {"subject": {"expr": "name"}},
}


def met(world: World, name: str, hours_ago: float, **extra: Any) -> int:
    at = (world.clock() - dt.timedelta(hours=hours_ago)).isoformat()
    return int(world.runtime().create("lead", {"name": name, "met_at": at, **extra})["id"])


def test_each_due_record_fires_once_and_later_ticks_do_nothing(db_url: str) -> None:
    world = world_with(db_url, CALL)
    for i in range(5):
        met(world, f"lead {i}", 30)
    met(world, "not yet", 10)
    assert world.run_due().fired == 5
    assert world.run_due().fired == 0
    world.clock.advance(hours=14)
    assert world.run_due().fired == 1
    assert world.count("call") == 6
    assert sorted(f["status"] for f in world.ledger()) == ["done"] * 6


def test_created_records_get_the_firing_time_and_the_link(db_url: str) -> None:
    world = world_with(db_url, CALL)
    lead = met(world, "Ann", 25)
    world.run_due()
    [call] = world.rows(world.metadata.model().entity("call").table)
    assert (call["subject"], call["lead"], call["created_at"]) == ("Ann", lead, T0)


def test_a_record_that_no_longer_matches_does_not_fire(db_url: str) -> None:
    world = world_with(db_url, CALL, condition="hot == true")
    lead = met(world, "Ann", 25, hot=True)
    site = world.metadata.model()
    trigger = find_trigger(site, "follow")
    assert trigger is not None
    item = DueItem(lead, due_key(T0 - dt.timedelta(hours=1)), T0)
    world.runtime().update("lead", lead, {"hot": False})  # changed after the due query ran
    assert fire_due(world.db, world.runtime(), world.rules, trigger, item, T0) == "skipped"
    assert world.count("call") == 0
    [entry] = world.ledger()
    assert (entry["status"], entry["detail"]) == ("skipped", "the condition no longer holds")


def test_a_moved_or_deleted_anchor_skips_the_stale_firing(db_url: str) -> None:
    world = world_with(db_url, CALL)
    site = world.metadata.model()
    trigger = find_trigger(site, "follow")
    assert trigger is not None
    lead = met(world, "Ann", 25)
    stale = DueItem(lead, due_key(T0 - dt.timedelta(hours=1)), T0)
    world.runtime().update("lead", lead, {"met_at": T0.isoformat()})
    assert fire_due(world.db, world.runtime(), world.rules, trigger, stale, T0) == "skipped"
    gone = met(world, "Bob", 25)
    world.runtime().delete("lead", gone)
    item = DueItem(gone, due_key(T0 - dt.timedelta(hours=1)), T0)
    assert fire_due(world.db, world.runtime(), world.rules, trigger, item, T0) == "skipped"
    assert [f["detail"] for f in world.ledger()] == [
        "met_at changed since the firing came due",
        "the record no longer exists",
    ]


def test_claimed_keys_are_skipped_by_a_second_runner(db_url: str) -> None:
    world = world_with(db_url, CALL)
    trigger = find_trigger(world.metadata.model(), "follow")
    assert trigger is not None
    lead = met(world, "Ann", 25)
    item = DueItem(lead, due_key(T0 - dt.timedelta(hours=1)), T0)
    assert fire_due(world.db, world.runtime(), world.rules, trigger, item, T0) == "done"
    assert fire_due(world.db, world.runtime(), world.rules, trigger, item, T0) == "taken"
    assert world.count("call") == 1


def test_a_failed_firing_is_rolled_back_then_retried_with_backoff(db_url: str) -> None:
    FailOnce.failures = 2
    world = world_with(db_url, CALL, {"type": "fail_once"})
    met(world, "Ann", 25)
    assert world.run_due().outcomes["retry"] == 1
    assert world.count("call") == 0  # the call created before the failure was rolled back
    assert world.ledger()[0]["next_attempt_at"] == T0 + dt.timedelta(minutes=1)
    world.clock.advance(seconds=59)
    assert world.run_due().outcomes == {}
    world.clock.advance(seconds=1)
    assert world.run_due().outcomes["retry"] == 1
    assert world.ledger()[0]["next_attempt_at"] == world.clock() + dt.timedelta(minutes=2)
    world.clock.advance(minutes=2)
    assert world.run_due().fired == 1
    assert world.count("call") == 1
    [entry] = world.ledger()
    assert (entry["status"], entry["attempts"]) == ("done", 3)
    assert [r["message"] for r in world.rows(action_log, action_log.c.status == "failed")] == [
        "action fail_once failed: not yet"
    ] * 2


def test_an_unsafe_failure_is_recorded_once_as_failed(db_url: str) -> None:
    world = world_with(db_url, CALL, {"type": "unsafe"})
    met(world, "Ann", 25)
    assert world.run_due().outcomes["failed"] == 1
    world.clock.advance(hours=1)
    assert world.run_due().outcomes == {}
    [entry] = world.ledger()
    assert (entry["status"], entry["detail"]) == ("failed", "action unsafe failed: half done")
    assert world.count("call") == 0


def test_cron_once_runs_without_a_record(db_url: str) -> None:
    world = make_world(
        db_url,
        {
            "entity": {
                "lead": entity("lead", [{"name": "name", "type": "text"}]),
                "report": entity("report", [{"name": "title", "type": "text"}]),
            },
            "trigger": {
                "weekly": {
                    "name": "weekly",
                    "entity": "lead",
                    "event": "time",
                    "schedule": {"cron": "0 6 * * *", "each_record": False},
                    "actions": [{"type": "create_record", "entity": "report", "values": {"title": "daily"}}],
                }
            },
        },
    )
    assert world.run_due().fired == 1
    assert world.run_due().fired == 0
    world.clock.advance(days=1)
    assert world.run_due().fired == 1
    assert [(f["record_id"], f["due_key"]) for f in world.ledger()] == [
        (0, "2026-03-02T06:00:00Z"),
        (0, "2026-03-03T06:00:00Z"),
    ]
