"""Issue 15 item 15: an action may not set a formula or roll-up field (it would be overwritten silently)."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid
from rule_engine.testing.world import World, entity, make_world

ORDER: dict[str, Any] = {
    "entity": {
        "purchase": entity(
            "purchase",
            [
                {"name": "title", "type": "text"},
                {"name": "qty", "type": "integer"},
                {"name": "double", "type": "integer", "rules": {"formula": "qty * 2"}},
                {"name": "lines", "type": "child_table", "child_entity": "purchase_line"},
                {
                    "name": "line_count",
                    "type": "integer",
                    "rules": {"rollup": {"source": "lines", "kind": "count"}},
                },
            ],
            title_field="title",
        ),
        "purchase_line": entity("purchase_line", [{"name": "note", "type": "text"}], is_child=True),
    },
}


def _with_trigger(values: dict[str, Any], kind: str = "set_fields") -> dict[str, Any]:
    action: dict[str, Any] = {"type": kind, "values": values}
    if kind == "create_record":
        action["entity"] = "purchase"
    return {
        **ORDER,
        "trigger": {"t": {"name": "t", "entity": "purchase", "event": "create", "actions": [action]}},
    }


@pytest.fixture
def world(db_url: str) -> World:
    return make_world(db_url, ORDER)


@pytest.mark.parametrize("target", ["double", "line_count"])
@pytest.mark.parametrize("kind", ["set_fields", "create_record"])
def test_action_aimed_at_a_computed_field_is_refused_at_validate(
    world: World, target: str, kind: str
) -> None:
    bundle = _with_trigger({target: 5}, kind)
    world.metadata.replace_draft(Bundle.from_json(bundle), "test")
    problems = {p.path: p.message for p in world.metadata.validate_draft()}
    assert problems == {
        "trigger.t.actions[0].values." + target: f"'{target}' is computed by its formula or roll-up "
        "and cannot be set by an action"
    }
    with pytest.raises(MetadataInvalid):
        world.metadata.publish("test")


def test_action_on_ordinary_fields_still_publishes(world: World) -> None:
    world.publish(_with_trigger({"qty": 3}))
    created = world.runtime().create("purchase", {"title": "a", "qty": 1})
    assert (created["qty"], created["double"]) == (3, 6)
