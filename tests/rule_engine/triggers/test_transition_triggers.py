"""Transition triggers listen to the workflow component's ``on_transition`` listeners."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from metamodel.definitions import Bundle
from metamodel.errors import Problem
from metamodel.model import SiteModel
from metamodel.records.hooks import RecordHooks
from rule_engine.engine import RuleEngine
from rule_engine.testing.world import T0, World, entity, make_world, select_field
from rule_engine.triggers import TriggerComponent


@dataclass
class Transitioned:
    """What a workflow tells its listeners after a transition."""

    entity: str
    record_id: int
    transition: str
    conn: Any
    runtime: Any
    now: Any
    history_id: int


class StubWorkflow:
    """Stands in for the workflow component: only its listener list matters here."""

    name = "workflow_stub"

    def __init__(self) -> None:
        self.on_transition: list[Any] = []

    def check(self, bundle: Bundle, site: SiteModel, engine: RuleEngine) -> Iterable[Problem]:
        return ()

    def install(self, hooks: RecordHooks, engine: RuleEngine) -> None:
        return None


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
            "states": [{"name": "open"}, {"name": "won"}, {"name": "lost"}],
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


def world_with_stub(db_url: str) -> tuple[World, StubWorkflow]:
    world = make_world(db_url, None)
    stub = StubWorkflow()
    rules = world.rules
    rules.components.insert(0, stub)
    hooks = RecordHooks()
    trigger_component = next(c for c in rules.components if isinstance(c, TriggerComponent))
    trigger_component.install(hooks, rules)
    world.hooks = hooks
    world.publish(BUNDLE)
    return world, stub


def move(world: World, stub: StubWorkflow, deal_id: int, transition: str, to: str, history_id: int) -> None:
    runtime = world.runtime()
    with world.db.begin() as conn:
        runtime.update("deal", deal_id, {"stage": to}, conn=conn)
        for listener in stub.on_transition:
            listener(Transitioned("deal", deal_id, transition, conn, runtime, T0, history_id))


def test_transition_triggers_fire_for_their_transition_and_condition(db_url: str) -> None:
    world, stub = world_with_stub(db_url)
    assert len(stub.on_transition) == 1
    runtime = world.runtime()
    big = runtime.create("deal", {"title": "big", "amount": 500, "stage": "open"})["id"]
    small = runtime.create("deal", {"title": "small", "amount": 5, "stage": "open"})["id"]
    move(world, stub, big, "win", "won", 1)
    move(world, stub, small, "lose", "lost", 2)
    notes = world.rows(world.metadata.model().entity("note").table)
    assert sorted((n["deal"], n["text"]) for n in notes) == sorted(
        [(big, "Big win"), (big, "won"), (small, "lost")]
    )
    assert sorted(f["due_key"] for f in world.ledger()) == [
        "transition:lose:2",
        "transition:win:1",
        "transition:win:1",
    ]
