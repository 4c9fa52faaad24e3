"""Due records come from one SQL query: the anchor window, the condition in SQL, NOT EXISTS on the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from rule_engine.evaluation import Expressions, shared_expressions
from rule_engine.ledger import due_key, due_key_sql
from rule_engine.scheduler.due import due_records
from rule_engine.testing.world import T0, World, enter_state, entity, make_world, select_field
from rule_engine.triggers.spec import TriggerSpec

NOTE = {"type": "set_fields", "values": {"note": "due"}}


def bundle(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity": {
            "visit": entity(
                "visit",
                [
                    {"name": "title", "type": "text"},
                    {"name": "visit_at", "type": "datetime", "indexed": True},
                    {"name": "visit_on", "type": "date"},
                    {"name": "score", "type": "integer"},
                    {"name": "note", "type": "text"},
                    select_field("status", ["open", "done"]),
                ],
                title_field="title",
            ),
        },
        "workflow": {
            "visit_flow": {
                "name": "visit_flow",
                "entity": "visit",
                "state_field": "status",
                "states": [{"name": "open"}, {"name": "done"}],
                "transitions": [{"name": "finish", "from": ["open"], "to": "done"}],
            }
        },
        "trigger": {t["name"]: t for t in triggers},
    }


def due(world: World, name: str, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    site = world.metadata.model()
    spec = TriggerSpec.from_doc(site.bundle.docs("trigger")[name])
    with world.db.connect() as conn:
        items = due_records(conn, site, spec, now or world.clock(), shared_expressions(world.rules.functions))
    return [(item.record_id, item.due_key) for item in items]


def test_relative_to_a_datetime_with_offset_and_lookback(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "after",
                "entity": "visit",
                "event": "time",
                "schedule": {"relative_to": "visit_at", "offset_hours": 72, "lookback_hours": 24},
                "actions": [NOTE],
            }
        ),
    )
    runtime = world.runtime()
    ids = {}
    for label, hours_ago in {"old": 200, "due": 80, "edge": 72, "future": 71, "none": None}.items():
        at = None if hours_ago is None else (T0 - dt.timedelta(hours=hours_ago, seconds=0)).isoformat()
        ids[label] = runtime.create("visit", {"title": label, "visit_at": at})["id"]
    expected = [(ids["due"], due_key(T0 - dt.timedelta(hours=8))), (ids["edge"], due_key(T0))]
    assert due(world, "after") == expected


def test_relative_to_a_date_counts_from_midnight_utc(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "day_after",
                "entity": "visit",
                "event": "time",
                "schedule": {"relative_to": "visit_on", "offset_hours": 24},
                "actions": [NOTE],
            }
        ),
    )
    runtime = world.runtime()
    yesterday = runtime.create("visit", {"title": "y", "visit_on": "2026-03-01"})["id"]
    runtime.create("visit", {"title": "t", "visit_on": "2026-03-02"})
    assert due(world, "day_after") == [(yesterday, "2026-03-02T00:00:00Z")]


def test_negative_offsets_mean_before(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "reminder",
                "entity": "visit",
                "event": "time",
                "schedule": {"relative_to": "visit_at", "offset_hours": -24},
                "actions": [NOTE],
            }
        ),
    )
    soon = world.runtime().create(
        "visit", {"title": "s", "visit_at": (T0 + dt.timedelta(hours=20)).isoformat()}
    )["id"]
    world.runtime().create("visit", {"title": "later", "visit_at": (T0 + dt.timedelta(hours=30)).isoformat()})
    assert [r for r, _ in due(world, "reminder")] == [soon]


@pytest.mark.parametrize("in_sql", [True, False])
def test_condition_in_sql_or_in_python_gives_the_same_answer(
    db_url: str, in_sql: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not in_sql:  # as if the expression language could not translate the condition
        monkeypatch.setattr(Expressions, "to_sql", lambda *args: None)
    world = make_world(
        db_url,
        bundle(
            {
                "name": "hot",
                "entity": "visit",
                "event": "time",
                "condition": "score > 5",
                "schedule": {"relative_to": "visit_at"},
                "actions": [NOTE],
            }
        ),
    )
    runtime = world.runtime()
    hot = runtime.create("visit", {"title": "h", "score": 9, "visit_at": T0.isoformat()})["id"]
    runtime.create("visit", {"title": "c", "score": 1, "visit_at": T0.isoformat()})
    assert [r for r, _ in due(world, "hot")] == [hot]


def test_fired_keys_are_excluded_but_a_moved_anchor_is_due_again(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "after",
                "entity": "visit",
                "event": "time",
                "schedule": {"relative_to": "visit_at", "offset_hours": 1},
                "actions": [NOTE],
            }
        ),
    )
    runtime = world.runtime()
    visit = runtime.create(
        "visit", {"title": "v", "visit_at": (T0 - dt.timedelta(hours=2, microseconds=1500)).isoformat()}
    )
    assert world.run_due().fired == 1
    assert due(world, "after") == []
    runtime.update("visit", visit["id"], {"visit_at": (T0 - dt.timedelta(hours=3)).isoformat()})
    assert due(world, "after") == [(visit["id"], due_key(T0 - dt.timedelta(hours=2)))]


def test_time_in_state_uses_the_current_history_row(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "stale",
                "entity": "visit",
                "event": "time",
                "schedule": {"state": "open", "in_state_hours": 48},
                "actions": [NOTE],
            }
        ),
    )
    runtime = world.runtime()
    old, recent, moved_on = (runtime.create("visit", {"title": t})["id"] for t in ("old", "recent", "moved"))
    enter_state(world, "visit", old, "status", "open", T0 - dt.timedelta(hours=50))
    enter_state(world, "visit", recent, "status", "open", T0 - dt.timedelta(hours=10))
    enter_state(world, "visit", moved_on, "status", "open", T0 - dt.timedelta(hours=90))
    enter_state(world, "visit", moved_on, "status", "done", T0 - dt.timedelta(hours=60))
    assert due(world, "stale") == [(old, due_key(T0 - dt.timedelta(hours=50)))]


def test_cron_each_record_and_once(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "daily",
                "entity": "visit",
                "event": "time",
                "condition": "score > 5",
                "schedule": {"cron": "0 8 * * *"},
                "actions": [NOTE],
            },
            {
                "name": "digest",
                "entity": "visit",
                "event": "time",
                "schedule": {"cron": "30 8 * * 5", "each_record": False},
                "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}],
            },
        ),
    )
    hot = world.runtime().create("visit", {"title": "h", "score": 9})["id"]
    world.runtime().create("visit", {"title": "c", "score": 1})
    assert due(world, "daily") == [(hot, "2026-03-02T08:00:00Z")]
    assert due(world, "digest") == [(0, "2026-02-27T08:30:00Z")]  # crontab 5 is Friday; T0 is a Monday
    assert world.run_due().fired == 2
    assert due(world, "daily") == [] and due(world, "digest") == []


def test_sql_due_key_matches_python(world_db: World) -> None:
    table = world_db.metadata.model().entity("visit").table
    moment = dt.datetime(2026, 1, 31, 23, 59, 58, 999_999, tzinfo=dt.UTC)
    world_db.runtime().create(
        "visit", {"title": "k", "visit_at": moment.isoformat(), "visit_on": "2026-02-28"}
    )
    with world_db.db.connect() as conn:
        dialect = conn.dialect.name
        row = conn.execute(
            select(
                due_key_sql(table.c.visit_at, 7200, dialect), due_key_sql(table.c.visit_on, -3600, dialect)
            )
        ).one()
    assert tuple(row) == (due_key(moment + dt.timedelta(hours=2)), "2026-02-27T23:00:00Z")


@pytest.fixture
def world_db(db_url: str) -> World:
    return make_world(db_url, bundle())
