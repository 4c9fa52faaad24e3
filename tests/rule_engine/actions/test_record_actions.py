"""set_fields, create_record, assign_owner and transition actions, run by event triggers."""

from __future__ import annotations

from typing import Any

import pytest

from rule_engine.tables import action_log, assignment_cursors, state_history
from rule_engine.testing.world import World, add_user, entity, make_world, select_field


def world_with(db_url: str, *triggers: dict[str, Any]) -> World:
    return make_world(
        db_url,
        {
            "entity": {
                "ticket": entity(
                    "ticket",
                    [
                        {"name": "subject", "type": "text"},
                        {"name": "priority", "type": "integer"},
                        {"name": "echo", "type": "text"},
                        select_field("status", ["open", "closed"], default="open"),
                    ],
                    title_field="subject",
                ),
                "task": entity(
                    "task",
                    [
                        {"name": "title", "type": "text", "required": True},
                        {"name": "priority", "type": "integer"},
                        {"name": "ticket", "type": "link", "target": "ticket", "on_delete": "cascade"},
                    ],
                ),
            },
            "trigger": {t["name"]: t for t in triggers},
        },
    )


def on_create(*actions: dict[str, Any], name: str = "rule") -> dict[str, Any]:
    return {"name": name, "entity": "ticket", "event": "create", "actions": list(actions)}


def test_set_fields_with_literals_and_expressions(db_url: str) -> None:
    world = world_with(
        db_url,
        on_create(
            {
                "type": "set_fields",
                "values": {
                    "echo": {"expr": "subject"},
                    "priority": {"expr": "priority * 2"},
                    "status": "closed",
                },
            }
        ),
    )
    ticket = world.runtime().create("ticket", {"subject": "Printer", "priority": 3})
    assert (ticket["echo"], ticket["priority"], ticket["status"]) == ("Printer", 6, "closed")


def test_create_record_links_back_and_inherits_the_owner(db_url: str) -> None:
    world = world_with(
        db_url,
        on_create(
            {
                "type": "create_record",
                "entity": "task",
                "link_field": "ticket",
                "values": {"title": {"expr": "subject"}, "priority": 1},
            }
        ),
    )
    ann = add_user(world.db, "ann")
    ticket = world.runtime().create("ticket", {"subject": "Call back", "owner_id": ann})
    [task] = world.rows(world.metadata.model().entity("task").table)
    assert (task["title"], task["priority"], task["ticket"], task["owner_id"]) == (
        "Call back",
        1,
        ticket["id"],
        ann,
    )


def test_create_record_inherits_the_owner_onto_an_entity_with_field_rules(db_url: str) -> None:
    world = world_with(
        db_url,
        on_create(
            {
                "type": "create_record",
                "entity": "task",
                "link_field": "ticket",
                "values": {"title": "Follow up"},
            }
        ),
    )
    bundle = world.metadata.model().bundle.to_json()
    bundle["entity"]["task"]["fields"][1]["rules"] = {
        "default": "2 + 3"
    }  # the task entity now has field rules
    world.publish(bundle)
    ann = add_user(world.db, "ann")
    ticket = world.runtime().create("ticket", {"subject": "Call back", "owner_id": ann})
    [task] = world.rows(world.metadata.model().entity("task").table)
    assert (task["title"], task["priority"], task["ticket"], task["owner_id"]) == (
        "Follow up",
        5,
        ticket["id"],
        ann,
    )


def test_later_actions_see_values_set_by_earlier_ones(db_url: str) -> None:
    world = world_with(
        db_url,
        on_create(
            {"type": "set_fields", "values": {"priority": 9}},
            {
                "type": "create_record",
                "entity": "task",
                "values": {"title": "t", "priority": {"expr": "priority"}},
            },
        ),
    )
    world.runtime().create("ticket", {"subject": "x", "priority": 1})
    [task] = world.rows(world.metadata.model().entity("task").table)
    assert task["priority"] == 9


def test_assign_fixed_user(db_url: str) -> None:
    world = world_with(db_url, on_create({"type": "assign_owner", "mode": "fixed", "user": "ann"}))
    ann = add_user(world.db, "ann")
    assert world.runtime().create("ticket", {"subject": "x"})["owner_id"] == ann


def test_round_robin_cycles_through_active_team_members(db_url: str) -> None:
    world = world_with(db_url, on_create({"type": "assign_owner", "mode": "round_robin", "team": "support"}))
    members = [add_user(world.db, name, team_names=["support"]) for name in ("ann", "bob", "cy")]
    add_user(world.db, "outsider")
    owners = [world.runtime().create("ticket", {"subject": str(i)})["owner_id"] for i in range(7)]
    assert owners == [*members, *members, members[0]]
    assert world.rows(assignment_cursors)[0]["key"] == "ticket:support"


def test_least_loaded_counts_open_records_only(db_url: str) -> None:
    world = world_with(
        db_url,
        {
            "name": "rule",
            "entity": "ticket",
            "event": "create",
            "condition": "priority == 1",
            "actions": [
                {
                    "type": "assign_owner",
                    "mode": "least_loaded",
                    "team": "support",
                    "open_condition": "status == 'open'",
                }
            ],
        },
    )
    ann, bob = (add_user(world.db, name, team_names=["support"]) for name in ("ann", "bob"))
    runtime = world.runtime()
    for _ in range(2):
        runtime.create("ticket", {"subject": "ann open", "owner_id": ann})
    for _ in range(3):
        runtime.create("ticket", {"subject": "bob closed", "owner_id": bob, "status": "closed"})
    runtime.create("ticket", {"subject": "bob open", "owner_id": bob})
    assert runtime.create("ticket", {"subject": "new", "priority": 1})["owner_id"] == bob
    assert (
        runtime.create("ticket", {"subject": "new", "priority": 1})["owner_id"] == ann
    )  # tie: lowest id wins


def test_assigning_within_an_empty_team_fails_with_a_reason(db_url: str) -> None:
    world = world_with(db_url, on_create({"type": "assign_owner", "mode": "round_robin", "team": "ghosts"}))
    ticket = world.runtime().create("ticket", {"subject": "x"})
    assert ticket["owner_id"] is None
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert "team 'ghosts' has no active members" in failure["message"]


@pytest.mark.parametrize("installed", [False, True], ids=["real_workflow", "service_override"])
def test_transition_goes_through_the_workflow_service(db_url: str, installed: bool) -> None:
    calls: list[tuple[Any, ...]] = []

    class FakeWorkflow:
        def transition(
            self, runtime: Any, entity_name: str, record_id: int, name: str, **kw: Any
        ) -> dict[str, Any]:
            calls.append((entity_name, record_id, name, kw["comment"]))
            return runtime.update(
                entity_name, record_id, {"status": "closed"}, conn=kw["conn"], actor=kw["actor"]
            )

    bundle_triggers = on_create({"type": "transition", "transition": "close", "comment": "auto"})
    world = world_with(db_url)
    if installed:
        world.rules.services = {"workflow": FakeWorkflow()}
    bundle = world.metadata.model().bundle.to_json()
    bundle["workflow"] = {
        "flow": {
            "name": "flow",
            "entity": "ticket",
            "state_field": "status",
            "states": [{"name": "open"}, {"name": "closed"}],
            "transitions": [{"name": "close", "from": ["open"], "to": "closed"}],
        }
    }
    bundle["trigger"] = {"rule": bundle_triggers}
    world.publish(bundle)
    ticket = world.runtime().create("ticket", {"subject": "x"})
    assert ticket["status"] == "closed"
    if installed:
        assert calls == [("ticket", ticket["id"], "close", "auto")]
    else:  # the real workflow component performs it and keeps the history
        assert calls == []
        history = world.rows(state_history, state_history.c.record_id == ticket["id"])
        assert [(h["from_state"], h["to_state"], h["transition"], h["comment"]) for h in history] == [
            (None, "open", None, ""),
            ("open", "closed", "close", "auto"),
        ]
