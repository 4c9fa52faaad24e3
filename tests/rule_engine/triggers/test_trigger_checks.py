"""Publish-time checks of trigger documents: every mistake is refused with the path that names it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid
from rule_engine.evaluation import Expressions
from rule_engine.testing.world import World, entity, make_world, select_field

BASE: dict[str, Any] = {
    "entity": {
        "ticket": entity(
            "ticket",
            [
                {"name": "subject", "type": "text"},
                {"name": "opened_at", "type": "datetime"},
                {"name": "priority", "type": "integer"},
                select_field("status", ["open", "closed"]),
                {"name": "lines", "type": "child_table", "child_entity": "ticket_line"},
            ],
            title_field="subject",
        ),
        "ticket_line": entity("ticket_line", [{"name": "note", "type": "text"}], is_child=True),
    },
    "workflow": {
        "ticket_flow": {
            "name": "ticket_flow",
            "entity": "ticket",
            "state_field": "status",
            "states": [{"name": "open", "initial": True}, {"name": "closed"}],
            "transitions": [{"name": "close", "from": ["open"], "to": "closed"}],
        }
    },
    "trigger": {},
}
NOTIFY = {"type": "notify", "to": ["owner"], "subject": "Hi {{ title }}"}


@pytest.fixture
def world(db_url: str) -> World:
    return make_world(db_url, BASE)


def problems_of(world: World, trigger: dict[str, Any]) -> dict[str, str]:
    bundle = copy.deepcopy(BASE)
    bundle["trigger"] = {trigger["name"]: trigger}
    with pytest.raises(MetadataInvalid) as caught:
        world.publish(bundle)
    return {p.path: p.message for p in caught.value.problems}


def publishes(world: World, trigger: dict[str, Any]) -> None:
    bundle = copy.deepcopy(BASE)
    bundle["trigger"] = {trigger["name"]: trigger}
    world.publish(bundle)


def test_valid_triggers_of_every_kind_publish(world: World) -> None:
    triggers: list[dict[str, Any]] = [
        {
            "name": "t1",
            "entity": "ticket",
            "event": "create",
            "condition": "priority > 2",
            "actions": [NOTIFY],
        },
        {
            "name": "t2",
            "entity": "ticket",
            "event": "update",
            "changed_fields": ["status"],
            "actions": [NOTIFY],
        },
        {"name": "t3", "entity": "ticket", "event": "transition", "transition": "close", "actions": [NOTIFY]},
        {
            "name": "t4",
            "entity": "ticket",
            "event": "time",
            "schedule": {"relative_to": "opened_at", "offset_hours": 24},
            "actions": [NOTIFY],
        },
        {
            "name": "t5",
            "entity": "ticket",
            "event": "time",
            "schedule": {"state": "open", "in_state_hours": 48},
            "actions": [NOTIFY],
        },
        {
            "name": "t6",
            "entity": "ticket",
            "event": "time",
            "schedule": {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "each_record": False},
            "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        },
    ]
    for trigger in triggers:
        publishes(world, trigger)


def test_unknown_action_type_and_bad_action_settings(world: World) -> None:
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "actions": [
                {"type": "teleport"},
                {"type": "notify", "to": ["nobody"], "subject": "x"},
                {"type": "set_fields", "values": {"priority": "high", "nope": 1}},
                {"type": "create_record", "entity": "ticket", "link_field": "subject"},
            ],
        },
    )
    assert "unknown action type 'teleport'" in found["trigger.t.actions[0].type"]
    assert "trigger.t.actions[1].to[0]" in found
    assert (
        "whole number" in found["trigger.t.actions[2].values.priority"]
        or "number" in found["trigger.t.actions[2].values.priority"]
    )
    assert "no field 'nope'" in found["trigger.t.actions[2].values.nope"]
    assert "must be a link field" in found["trigger.t.actions[3].link_field"]


def test_expressions_are_compiled_with_their_paths(world: World) -> None:
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "condition": "no_such_field > 1",
            "actions": [{"type": "set_fields", "values": {"priority": {"expr": "missing + 1"}}}],
        },
    )
    assert "no_such_field" in found["trigger.t.condition"]
    assert "trigger.t.actions[0].values.priority" in found


def test_templates_must_parse(world: World) -> None:
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "actions": [{"type": "notify", "to": ["owner"], "subject": "{{ unclosed"}],
        },
    )
    assert "template error" in found["trigger.t.actions[0].subject"]


@pytest.mark.parametrize(
    ("schedule", "path", "words"),
    [
        ({"relative_to": "subject"}, "schedule.relative_to", "not a date"),
        ({"cron": "61 * * * *"}, "schedule.cron", "61"),
        ({"cron": "* * *"}, "schedule.cron", "5 fields"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "schedule.timezone", "unknown time zone"),
        ({"state": "lost", "in_state_hours": 4}, "schedule.state", "no state 'lost'"),
        ({"state": "open"}, "schedule.in_state_hours", "more than 0"),
        ({"relative_to": "opened_at", "cron": "0 * * * *"}, "schedule", "only one"),
        ({"state": "open", "in_state_hours": 1, "offset_hours": 3}, "schedule.offset_hours", "relative_to"),
    ],
)
def test_schedule_sanity(world: World, schedule: dict[str, Any], path: str, words: str) -> None:
    found = problems_of(
        world, {"name": "t", "entity": "ticket", "event": "time", "schedule": schedule, "actions": [NOTIFY]}
    )
    assert words in found[f"trigger.t.{path}"]


def test_event_settings_must_fit_the_event(world: World) -> None:
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "changed_fields": ["status"],
            "transition": "close",
            "schedule": {"relative_to": "opened_at"},
            "actions": [NOTIFY],
        },
    )
    assert set(found) >= {"trigger.t.changed_fields", "trigger.t.transition", "trigger.t.schedule"}
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "update",
            "changed_fields": ["lines"],
            "actions": [NOTIFY],
        },
    )
    assert "trigger.t.changed_fields[0]" in found
    found = problems_of(
        world,
        {"name": "t", "entity": "ticket", "event": "transition", "transition": "reopen", "actions": [NOTIFY]},
    )
    assert "no transition 'reopen'" in found["trigger.t.transition"]


def test_actions_that_need_the_record_are_refused_where_there_is_none(world: World) -> None:
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "delete",
            "actions": [{"type": "set_fields", "values": {"priority": 1}}],
        },
    )
    assert "deleted record" in found["trigger.t.actions[0]"]
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "time",
            "condition": "priority > 1",
            "schedule": {"cron": "0 * * * *", "each_record": False},
            "actions": [{"type": "assign_owner", "mode": "fixed", "user": "ann"}],
        },
    )
    assert "each_record" in found["trigger.t.actions[0]"]
    assert "no record" in found["trigger.t.condition"]


def test_least_loaded_needs_a_condition_the_database_can_evaluate(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Expressions, "to_sql", lambda *args: None)  # as if it could not be translated
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "actions": [
                {
                    "type": "assign_owner",
                    "mode": "least_loaded",
                    "team": "support",
                    "open_condition": "subject == 'X'",
                }
            ],
        },
    )
    assert "database" in found["trigger.t.actions[0].open_condition"]
    found = problems_of(
        world,
        {
            "name": "t",
            "entity": "ticket",
            "event": "create",
            "actions": [{"type": "assign_owner", "mode": "round_robin"}],
        },
    )
    assert "trigger.t.actions[0]" in " ".join(found)
