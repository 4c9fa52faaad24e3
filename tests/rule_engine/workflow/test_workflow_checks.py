"""Publish-time checks of workflows: every mistake is refused with the path that names it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid
from rule_engine.testing.world import World, make_world
from tests.rule_engine.workflow.wfsupport import BUNDLE, FLOW, bundle


@pytest.fixture
def world(db_url: str) -> World:
    return make_world(db_url, BUNDLE)


def problems_of(world: World, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(MetadataInvalid) as caught:
        world.publish(data)
    return {p.path: p.message for p in caught.value.problems}


def flow(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(FLOW)
    found.update(changes)
    return found


def with_transition(index: int, **changes: Any) -> dict[str, Any]:
    found = flow()
    found["transitions"][index].update(changes)
    return bundle(workflow={"deal_flow": found})


def test_the_pipeline_publishes(world: World) -> None:
    assert world.metadata.model().bundle.docs("workflow")["deal_flow"]["entity"] == "deal"


def test_guards_must_compile_to_a_condition(world: World) -> None:
    path = "workflow.deal_flow.transitions[0].guard"
    problems = problems_of(world, with_transition(0, guard="amount > > 0"))
    assert list(problems) == [path] and "position" in problems[path]
    problems = problems_of(world, with_transition(0, guard="amount > budget"))
    assert list(problems) == [path] and "budget" in problems[path] and "position" in problems[path]
    assert problems_of(world, with_transition(0, guard="amount + 1")) == {
        path: "a guard must be a condition (true or false), not a number"
    }


def test_states_transitions_roles_and_fields_are_checked(world: World) -> None:
    states = [*copy.deepcopy(FLOW["states"]), {"name": "draft"}]
    states[1]["initial"] = True
    transitions = copy.deepcopy(FLOW["transitions"])
    transitions[1]["name"] = "publish"
    transitions[2]["roles"] = ["sales", " "]
    transitions[2]["required_fields"] = ["reason", "stage"]
    transitions[3]["approval_role"] = ""
    problems = problems_of(
        world, bundle(workflow={"deal_flow": flow(states=states, transitions=transitions)})
    )
    assert problems == {
        "workflow.deal_flow.states[4].name": "state 'draft' is listed twice",
        "workflow.deal_flow.states": "mark exactly one state as initial (marked: draft, open)",
        "workflow.deal_flow.transitions[1].name": "transition 'publish' is defined twice",
        "workflow.deal_flow.transitions[2].roles[1]": "a role is a non-empty role name",
        "workflow.deal_flow.transitions[2].required_fields[1]": "the state field is set by the transition",
        "workflow.deal_flow.transitions[3].approval_role": "give a role name",
    }


def test_unknown_states_and_fields_are_refused(world: World) -> None:
    problems = problems_of(world, with_transition(2, required_fields=["reason", "budget"]))
    assert list(problems) == ["workflow.deal_flow.transitions[2].required_fields[1]"]
    assert "budget" in problems["workflow.deal_flow.transitions[2].required_fields[1]"]
    problems = problems_of(world, with_transition(0, **{"from": ["draft", "closed"], "to": "gone"}))
    assert problems == {
        "workflow.deal_flow.transitions[0].from[1]": "unknown state 'closed'",
        "workflow.deal_flow.transitions[0].to": "unknown state 'gone'",
    }


def test_transition_actions_are_checked_like_trigger_actions(world: World) -> None:
    actions = [
        {"type": "create_record", "entity": "ghost"},
        {"type": "teleport"},
        {"type": "set_fields", "values": {"amount": {"expr": "amount *"}}},
        {"type": "transition", "transition": "fly"},
    ]
    problems = problems_of(world, with_transition(2, actions=actions))
    prefix = "workflow.deal_flow.transitions[2].actions"
    assert set(problems) == {
        f"{prefix}[0].entity",
        f"{prefix}[1].type",
        f"{prefix}[2].values.amount",
        f"{prefix}[3].transition",
    }
    assert problems[f"{prefix}[0].entity"] == "entity 'ghost' does not exist"
    assert problems[f"{prefix}[1].type"].startswith("unknown action type 'teleport'")


def test_an_entity_has_at_most_one_workflow(world: World) -> None:
    second = flow(name="other_flow")
    problems = problems_of(world, bundle(workflow={"deal_flow": flow(), "other_flow": second}))
    assert problems == {
        "workflow.other_flow.entity": "entity 'deal' already has workflow 'deal_flow'; an entity has at most one"
    }
