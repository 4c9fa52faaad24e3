"""A deal pipeline with a workflow, its users and helpers, shared by the workflow tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from metamodel.records.hooks import Actor
from rule_engine.tables import state_history
from rule_engine.testing.world import World, add_user, entity, make_world, select_field
from rule_engine.workflow import WorkflowComponent, WorkflowService

NOTE_ON_WIN = {
    "type": "create_record",
    "entity": "note",
    "link_field": "deal",
    "values": {"text": {"expr": "'Won: ' + title"}},
}
# amount has max 1000, so this action fails for any amount above 1: it must undo the whole transition.
BREAKING = {"type": "set_fields", "values": {"amount": {"expr": "amount * 1000"}}}

FLOW: dict[str, Any] = {
    "name": "deal_flow",
    "entity": "deal",
    "state_field": "stage",
    "states": [
        {"name": "draft", "initial": True, "label": {"en": "Draft"}},
        {"name": "open", "label": {"en": "Open"}},
        {"name": "won", "final": True},
        {"name": "lost", "final": True},
    ],
    "transitions": [
        {
            "name": "publish",
            "label": {"en": "Publish"},
            "from": ["draft"],
            "to": "open",
            "guard": "amount > 0",
        },
        {"name": "pause", "from": ["open"], "to": "draft"},
        {
            "name": "win",
            "from": ["open"],
            "to": "won",
            "roles": ["sales"],
            "required_fields": ["reason"],
            "actions": [NOTE_ON_WIN],
        },
        {"name": "lose", "from": ["open"], "to": "lost", "approval_role": "manager"},
        {
            "name": "reopen",
            "from": ["won", "lost"],
            "to": "open",
            "actions": [
                {
                    "type": "create_record",
                    "entity": "note",
                    "link_field": "deal",
                    "values": {"text": "reopened"},
                },
                BREAKING,
            ],
        },
    ],
}

BUNDLE: dict[str, Any] = {
    "entity": {
        "deal": entity(
            "deal",
            [
                {"name": "title", "type": "text"},
                {"name": "amount", "type": "integer", "max": 1000},
                {"name": "reason", "type": "text"},
                select_field("stage", ["draft", "open", "won", "lost"]),
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
    "workflow": {"deal_flow": FLOW},
    "trigger": {},
}


def bundle(**changes: Any) -> dict[str, Any]:
    """Return a copy of BUNDLE with top-level kinds replaced."""
    found = copy.deepcopy(BUNDLE)
    found.update(copy.deepcopy(changes))
    return found


@dataclass
class Pipeline:
    """The world plus its users as actors."""

    world: World
    sam: Actor  # sales
    mia: Actor  # manager
    bob: Actor  # no roles
    boss: Actor  # administrator without roles

    @property
    def service(self) -> WorkflowService:
        component = self.world.rules.component("workflow")
        assert isinstance(component, WorkflowComponent)
        return component.service

    @property
    def db(self) -> Engine:
        return self.world.db

    def deal(self, **values: Any) -> dict[str, Any]:
        """Create a deal as the system (title and amount given defaults)."""
        return self.world.runtime().create("deal", {"title": "Deal", "amount": 10, **values})

    def take(self, record_id: int, name: str, actor: Actor | None = None, **kwargs: Any) -> Any:
        """Take a transition through the service."""
        return self.service.transition(
            self.world.runtime(), "deal", record_id, name, actor=actor or self.sam, **kwargs
        )

    def stage(self, record_id: int) -> str:
        return str(self.world.runtime().get("deal", record_id)["stage"])

    def history(self, record_id: int) -> list[dict[str, Any]]:
        return self.world.rows(state_history, state_history.c.record_id == record_id)

    def notes(self) -> list[str]:
        return [n["text"] for n in self.world.rows(self.world.metadata.model().entity("note").table)]


def pipeline(db_url: str, data: dict[str, Any] | None = None) -> Pipeline:
    """Publish the deal pipeline (or ``data``) and add a sales rep, a manager, a user and an admin."""
    world = make_world(db_url, data or BUNDLE)

    def actor(name: str, roles: list[str], admin: bool = False) -> Actor:
        return Actor(add_user(world.db, name, role_names=roles), name, admin)

    return Pipeline(
        world, actor("sam", ["sales"]), actor("mia", ["manager"]), actor("bob", []), actor("boss", [], True)
    )
