"""Dry run: a draft rule is tested against existing data; the report explains it and nothing changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from rule_engine.dryrun import dry_run
from rule_engine.testing.world import T0, World, entity, make_world

BUNDLE: dict[str, Any] = {
    "entity": {
        "drive": entity(
            "drive",
            [
                {"name": "customer", "type": "text"},
                {"name": "driven_at", "type": "datetime"},
                {"name": "bought", "type": "boolean"},
                {"name": "score", "type": "integer"},
            ],
            title_field="customer",
        ),
        "task": entity(
            "task",
            [
                {"name": "title", "type": "text"},
                {"name": "drive", "type": "link", "target": "drive", "on_delete": "cascade"},
            ],
        ),
    },
    "trigger": {},
}
FOLLOW_UP: dict[str, Any] = {
    "name": "follow_up",
    "entity": "drive",
    "event": "time",
    "condition": "bought == false",
    "schedule": {"relative_to": "driven_at", "offset_hours": 72},
    "actions": [
        {"type": "create_record", "entity": "task", "link_field": "drive", "values": {"title": "Call"}},
        {"type": "webhook", "url": "http://127.0.0.1:1/x"},
    ],
}


def counts(world: World) -> dict[str, int]:
    with world.db.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {n: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}


def seeded(db_url: str) -> tuple[World, dict[str, int]]:
    world = make_world(db_url, BUNDLE)
    runtime = world.runtime()
    ids = {}
    for name, hours, bought in [("Ann", 80, False), ("Bob", 90, True), ("Cy", 10, False), ("Di", 73, False)]:
        at = (T0 - dt.timedelta(hours=hours)).isoformat()
        ids[name] = runtime.create(
            "drive", {"customer": name, "driven_at": at, "bought": bought, "score": hours}
        )["id"]
    return world, ids


def test_time_rule_reports_what_would_fire_with_the_deciding_values(db_url: str) -> None:
    world, ids = seeded(db_url)
    before = counts(world)
    with world.db.connect() as conn:
        report = dry_run(FOLLOW_UP, world.metadata.model(), conn, T0, world.rules)
    assert report["would_fire"] == 2
    assert report["matches"] == [
        {
            "id": ids["Ann"],
            "title": "Ann",
            "due_at": "2026-03-02T01:00:00Z",
            "values": {"bought": False, "driven_at": "2026-02-27T01:00:00Z"},
        },
        {
            "id": ids["Di"],
            "title": "Di",
            "due_at": "2026-03-02T08:00:00Z",
            "values": {"bought": False, "driven_at": "2026-02-27T08:00:00Z"},
        },
    ]
    assert counts(world) == before


def test_event_rule_reports_matching_records(db_url: str) -> None:
    world, ids = seeded(db_url)
    draft = {
        "name": "hot",
        "entity": "drive",
        "event": "update",
        "condition": "score > 75",
        "actions": [{"type": "set_fields", "values": {"bought": True}}],
    }
    before = counts(world)
    with world.db.begin() as conn:  # inside the caller's transaction too
        report = dry_run(draft, world.metadata.model(), conn, T0, world.rules, limit=1)
    assert report["would_fire"] == 2 and report["truncated"] is True
    assert report["matches"] == [{"id": ids["Ann"], "title": "Ann", "due_at": None, "values": {"score": 80}}]
    assert counts(world) == before


def test_invalid_drafts_report_their_problems(db_url: str) -> None:
    world, _ = seeded(db_url)
    draft = {**FOLLOW_UP, "condition": "nonsense_field == 1", "schedule": {"relative_to": "customer"}}
    with world.db.connect() as conn:
        report = dry_run(draft, world.metadata.model(), conn, T0, world.rules)
    paths = {p["path"] for p in report["problems"]}
    assert {"trigger.follow_up.condition", "trigger.follow_up.schedule.relative_to"} <= paths
    assert report["would_fire"] == 0
