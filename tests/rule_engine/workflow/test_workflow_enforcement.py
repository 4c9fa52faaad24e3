"""The state field belongs to the workflow: initial state on create, no direct edits by users."""

from __future__ import annotations

import pytest

from metamodel.errors import RecordInvalid
from rule_engine.tables import state_history
from tests.rule_engine.workflow.wfsupport import Pipeline, pipeline


@pytest.fixture
def p(db_url: str) -> Pipeline:
    return pipeline(db_url)


def test_a_new_record_starts_in_the_initial_state_with_a_current_history_row(p: Pipeline) -> None:
    deal = p.world.runtime().create("deal", {"title": "New"}, actor=p.bob)
    assert deal["stage"] == "draft"
    [row] = p.history(deal["id"])
    assert (row["from_state"], row["to_state"], row["transition"], row["actor_id"], row["is_current"]) == (
        None,
        "draft",
        None,
        p.bob.user_id,
        True,
    )
    assert p.world.runtime().create("deal", {"stage": "draft"}, actor=p.bob)["stage"] == "draft"


def test_a_user_cannot_create_a_record_in_another_state(p: Pipeline) -> None:
    with pytest.raises(RecordInvalid) as caught:
        p.world.runtime().create("deal", {"title": "Won already", "stage": "won"}, actor=p.boss)
    [problem] = caught.value.problems
    assert (problem.path, problem.code) == ("stage", "workflow_state")
    assert "starts in state 'draft'" in problem.message
    assert p.world.count("deal") == 0 and p.world.count(state_history) == 0


def test_a_direct_state_edit_is_refused_and_points_to_the_transitions(p: Pipeline) -> None:
    deal = p.deal()
    runtime = p.world.runtime()
    for actor in (p.bob, p.boss):
        with pytest.raises(RecordInvalid) as caught:
            runtime.update("deal", deal["id"], {"stage": "won", "title": "Sneaky"}, actor=actor)
        [problem] = caught.value.problems
        assert (problem.path, problem.code) == ("stage", "use_transition")
        assert problem.message == (
            "the state cannot be edited directly; use a transition of workflow 'deal_flow' (publish from 'draft')"
        )
    assert runtime.get("deal", deal["id"])["title"] == "Deal"
    # Writing the unchanged state (a full form or PUT) is an ordinary edit.
    assert (
        runtime.update("deal", deal["id"], {"stage": "draft", "title": "Edited"}, actor=p.bob)["title"]
        == "Edited"
    )
    assert len(p.history(deal["id"])) == 1


def test_the_system_may_set_a_state_directly_and_history_follows(p: Pipeline) -> None:
    runtime = p.world.runtime()
    deal = runtime.create("deal", {"title": "Imported", "stage": "open"})
    p.world.clock.advance(hours=3)
    runtime.update("deal", deal["id"], {"stage": "lost"})
    rows = p.history(deal["id"])
    assert [(r["from_state"], r["to_state"], r["is_current"]) for r in rows] == [
        (None, "open", False),
        ("open", "lost", True),
    ]
