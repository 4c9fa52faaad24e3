"""Transition triggers listen to the workflow component's ``on_transition`` listeners."""

from __future__ import annotations

from typing import Any

from rule_engine.testing.world import World, entity, make_world, select_field
from rule_engine.workflow import WorkflowComponent

BUNDLE: dict[str, Any] = {
    "entity": {
        "deal": entity(
            "deal",
            [
                {"name": "title", "type": "text"},
                {"name": "amount", "type": "integer"},
                select_field("stage", ["open", "won", "lost"]),
            ],
            title_field="title",
        ),
        "note": entity(
            "note",
            [
                {"name": "text", "type": "text"},
                {"name": "deal", "type": "link", "target": "deal", "on_delete": "cascade"},
            ],
        ),
    },
    "workflow": {
        "flow": {
            "name": "flow",
            "entity": "deal",
            "state_field": "stage",
            "states": [{"name": "open", "initial": True}, {"name": "won"}, {"name": "lost"}],
            "transitions": [
                {"name": "win", "from": ["open"], "to": "won"},
                {"name": "lose", "from": ["open"], "to": "lost"},
            ],
        }
    },
    "trigger": {
        "on_win": {
            "name": "on_win",
            "entity": "deal",
            "event": "transition",
            "transition": "win",
            "condition": "amount > 100",
            "actions": [
                {
                    "type": "create_record",
                    "entity": "note",
                    "link_field": "deal",
                    "values": {"text": "Big win"},
                }
            ],
        },
        "any_move": {
            "name": "any_move",
            "entity": "deal",
            "event": "transition",
            "actions": [
                {
                    "type": "create_record",
                    "entity": "note",
                    "link_field": "deal",
                    "values": {"text": {"expr": "stage"}},
                }
            ],
        },
    },
}


def workflow_of(world: World) -> WorkflowComponent:
    component = world.rules.component("workflow")
    assert isinstance(component, WorkflowComponent)
    return component


def move(world: World, deal_id: int, transition: str) -> int:
    result = workflow_of(world).service.transition(world.runtime(), "deal", deal_id, transition)
    assert result.status == "done" and result.history_id is not None
    return result.history_id


def test_transition_triggers_fire_for_their_transition_and_condition(db_url: str) -> None:
    world = make_world(db_url, BUNDLE)
    assert len(workflow_of(world).on_transition) == 1
    runtime = world.runtime()
    big = runtime.create("deal", {"title": "big", "amount": 500, "stage": "open"})["id"]
    small = runtime.create("deal", {"title": "small", "amount": 5, "stage": "open"})["id"]
    won = move(world, big, "win")
    lost = move(world, small, "lose")
    notes = world.rows(world.metadata.model().entity("note").table)
    assert sorted((n["deal"], n["text"]) for n in notes) == sorted(
        [(big, "Big win"), (big, "won"), (small, "lost")]
    )
    assert sorted(f["due_key"] for f in world.ledger()) == sorted(
        [f"transition:lose:{lost}", f"transition:win:{won}", f"transition:win:{won}"]
    )
