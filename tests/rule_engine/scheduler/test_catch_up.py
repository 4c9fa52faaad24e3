"""Nothing due is skipped silently: watermarks catch up after long outages and back-dated records,
the late policy records what it skips, backlogs drain within a budget, lost claims raise no DB error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event

from rule_engine.ledger import claim, due_key
from rule_engine.tables import rule_watermarks
from rule_engine.testing.world import T0, World, entity, make_world

NOTE = {"type": "set_fields", "values": {"note": "called"}}


def world_with(db_url: str, **schedule: Any) -> World:
    trigger = {
        "name": "follow",
        "entity": "lead",
        "event": "time",
        "schedule": {"relative_to": "met_at", "offset_hours": 24, **schedule},
        "actions": [NOTE],
    }
    lead = entity(
        "lead",
        [
            {"name": "name", "type": "text"},
            {"name": "met_at", "type": "datetime", "indexed": True},
            {"name": "note", "type": "text"},
        ],
        title_field="name",
    )
    return make_world(db_url, {"entity": {"lead": lead}, "trigger": {"follow": trigger}})


def lead(world: World, name: str, met_at: dt.datetime) -> int:
    return int(world.runtime().create("lead", {"name": name, "met_at": met_at.isoformat()})["id"])


def test_an_outage_longer_than_the_lookback_still_fires_everything(db_url: str) -> None:
    world = world_with(db_url)
    assert world.run_due().fired == 0  # the rule is seen: its watermark starts
    missed = lead(world, "missed", T0 + dt.timedelta(hours=1))  # due T0 + 25 h
    world.clock.advance(days=10)  # down for 240 h > the 168 h lookback
    report = world.run_due()
    assert report.fired == 1
    assert [(r["record_id"], r["status"]) for r in world.ledger("follow")] == [(missed, "done")]


def test_a_record_back_dated_past_the_lookback_fires(db_url: str) -> None:
    world = world_with(db_url)
    world.run_due()
    world.clock.advance(days=30)
    assert world.run_due(budget=5).fired == 0  # drained: the watermark moves to now
    with world.db.connect() as conn:
        assert conn.execute(rule_watermarks.select()).one().drained_to == world.clock()
    back_dated = lead(world, "back-dated", T0 + dt.timedelta(days=2))  # due 27 days ago
    assert world.run_due(budget=5).fired == 1
    assert world.runtime().get("lead", back_dated)["note"] == "called"


def test_late_policy_skip_records_the_skipped_firing_with_its_reason(db_url: str) -> None:
    world = world_with(db_url, late_policy="skip", late_after_hours=12)
    world.run_due()
    on_time = lead(world, "on time", T0 - dt.timedelta(hours=30))  # due 6 h ago
    too_late = lead(world, "too late", T0 - dt.timedelta(hours=60))  # due 36 h ago
    report = world.run_due()
    assert report.fired == 1 and report.outcomes["late"] == 1
    rows = {r["record_id"]: r for r in world.ledger("follow")}
    assert rows[on_time]["status"] == "done"
    assert rows[too_late]["status"] == "skipped"
    assert rows[too_late]["detail"].startswith("late: due ")
    assert world.runtime().get("lead", too_late)["note"] is None


def test_a_backlog_drains_within_the_tick_budget_not_one_batch_per_tick(db_url: str) -> None:
    world = world_with(db_url)
    table = world.metadata.model().entity("lead").table
    met = T0 - dt.timedelta(hours=30)
    rows = [
        {"name": f"l{i}", "met_at": met, "lock_version": 1, "created_at": met, "updated_at": met}
        for i in range(250)
    ]
    with world.db.begin() as conn:
        conn.execute(table.insert(), rows)
    assert world.run_due(limit=40).fired == 40  # without a budget: one batch per rule (the old behaviour)
    assert world.run_due(limit=40, budget=60).fired == 210
    assert world.run_due(limit=40, budget=60).fired == 0


def test_a_lost_claim_inserts_nothing_and_raises_no_database_error(db_url: str) -> None:
    world = world_with(db_url)
    errors: list[BaseException] = []
    event.listen(world.db, "handle_error", lambda ctx: errors.append(ctx.original_exception))
    key = due_key(T0)
    with world.db.begin() as conn:
        assert claim(conn, "follow", "lead", 1, key, T0) is not None
        assert claim(conn, "follow", "lead", 1, key, T0) is None
        assert claim(conn, "follow", "lead", 2, key, T0) is not None  # the transaction is still healthy
    assert errors == []
    assert len(world.ledger("follow")) == 2
