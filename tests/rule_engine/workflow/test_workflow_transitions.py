"""Taking transitions: state, roles, guards, required fields, actions in the same transaction, history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from metamodel.errors import CrmError
from metamodel.records.hooks import Actor
from rule_engine.tables import action_log, state_history
from rule_engine.testing.world import T0
from rule_engine.workflow import TransitionForbidden, TransitionIncomplete, TransitionRefused
from tests.rule_engine.workflow.wfsupport import Pipeline, pipeline


@pytest.fixture
def p(db_url: str) -> Pipeline:
    return pipeline(db_url)


def snapshot(p: Pipeline, record_id: int) -> tuple[object, ...]:
    """Everything a refused transition must leave untouched."""
    record = p.world.runtime().get("deal", record_id)
    return (
        record["stage"],
        record["lock_version"],
        record["amount"],
        record["reason"],
        p.world.count(state_history),
        p.world.count("note"),
        p.world.count(action_log),
    )


def test_an_illegal_transition_is_refused_with_its_reason_and_nothing_is_written(p: Pipeline) -> None:
    deal = p.deal()
    before = snapshot(p, deal["id"])
    with pytest.raises(TransitionRefused) as caught:
        p.take(deal["id"], "win", values={"reason": "big"})
    error = caught.value
    assert (error.status, error.code, error.reason) == (409, "transition_refused", "state")
    assert error.message == "transition win cannot start in state 'draft' (it leaves open)"
    assert isinstance(error, CrmError) and error.as_dict()["transition"] == "win"
    assert snapshot(p, deal["id"]) == before


def test_the_guard_is_evaluated_on_the_record_with_the_given_values(p: Pipeline) -> None:
    deal = p.deal(amount=0)
    before = snapshot(p, deal["id"])
    with pytest.raises(TransitionRefused) as caught:
        p.take(deal["id"], "publish")
    assert caught.value.reason == "guard"
    assert caught.value.message == "transition publish refused: guard failed: amount > 0"
    with pytest.raises(TransitionRefused):
        p.take(deal["id"], "publish", values={"amount": -5})
    assert snapshot(p, deal["id"]) == before  # the values of a refused transition are not kept either
    result = p.take(deal["id"], "publish", values={"amount": 5})
    assert result.status == "done" and (result["stage"], result["amount"]) == ("open", 5)


def test_only_holders_of_a_listed_role_admins_and_the_system_may_take_it(p: Pipeline) -> None:
    deals = [p.deal() for _ in range(4)]
    for deal in deals:
        p.take(deal["id"], "publish")
    before = snapshot(p, deals[0]["id"])
    with pytest.raises(TransitionForbidden) as caught:
        p.take(deals[0]["id"], "win", p.bob, values={"reason": "x"})
    assert (caught.value.status, caught.value.code, caught.value.reason) == (
        403,
        "transition_forbidden",
        "role",
    )
    assert "sales" in caught.value.message
    assert snapshot(p, deals[0]["id"]) == before
    for deal, actor in zip(deals[1:], (p.sam, p.boss, Actor()), strict=True):
        assert p.take(deal["id"], "win", actor, values={"reason": "x"}).status == "done"
        assert p.stage(deal["id"]) == "won"


def test_required_fields_must_be_filled_or_given_as_values(p: Pipeline) -> None:
    deal = p.deal()
    p.take(deal["id"], "publish")
    before = snapshot(p, deal["id"])
    with pytest.raises(TransitionIncomplete) as caught:
        p.take(deal["id"], "win")
    assert (caught.value.status, caught.value.reason) == (422, "required_fields")
    assert [(x.path, x.code) for x in caught.value.problems] == [("reason", "required")]
    assert snapshot(p, deal["id"]) == before
    result = p.take(deal["id"], "win", values={"reason": "best price"}, comment="signed")
    assert (result["stage"], result["reason"]) == ("won", "best price")
    assert p.notes() == ["Won: Deal"]  # the transition's action ran with it


def test_a_failing_action_rolls_the_whole_transition_back(p: Pipeline) -> None:
    deal = p.deal()
    p.take(deal["id"], "publish")
    p.take(deal["id"], "win", values={"reason": "r"})
    before = snapshot(p, deal["id"])
    with pytest.raises(TransitionRefused) as caught:
        p.take(deal["id"], "reopen")
    assert caught.value.reason == "action"
    assert "set_fields" in caught.value.message and "amount" in caught.value.message
    assert snapshot(p, deal["id"]) == before  # no state, no history, no "reopened" note, no log row
    assert p.notes() == ["Won: Deal"]


def test_history_records_who_when_from_to_and_keeps_one_current_row(p: Pipeline) -> None:
    deal = p.deal()
    p.world.clock.advance(hours=1)
    p.take(deal["id"], "publish", p.bob, comment="ready")
    p.world.clock.advance(hours=2)
    p.take(deal["id"], "win", p.sam, values={"reason": "r"}, comment="signed")
    rows = p.history(deal["id"])
    assert [(r["from_state"], r["to_state"], r["transition"], r["actor_id"], r["comment"]) for r in rows] == [
        (None, "draft", None, None, ""),
        ("draft", "open", "publish", p.bob.user_id, "ready"),
        ("open", "won", "win", p.sam.user_id, "signed"),
    ]
    assert [r["at"] for r in rows] == [T0, T0.replace(hour=10), T0.replace(hour=12)]
    assert [r["is_current"] for r in rows] == [False, False, True]
    assert {r["workflow"] for r in rows} == {"deal_flow"}
    listed = p.service.history(p.world.runtime(), "deal", deal["id"])
    assert [(h["to_state"], h["at"]) for h in listed] == [
        ("draft", "2026-03-02T09:00:00Z"),
        ("open", "2026-03-02T10:00:00Z"),
        ("won", "2026-03-02T12:00:00Z"),
    ]


def test_available_transitions_follow_state_roles_and_guards(p: Pipeline) -> None:
    runtime = p.world.runtime()
    deal = p.deal(amount=0)
    [publish] = p.service.available_transitions(runtime, "deal", runtime.get("deal", deal["id"]), p.bob)
    assert (publish["name"], publish["to"], publish["guard_passed"]) == ("publish", "open", False)
    assert publish["reason"] == "guard failed: amount > 0" and publish["label"] == {"en": "Publish"}
    p.take(deal["id"], "publish", values={"amount": 3})
    record = runtime.get("deal", deal["id"])

    def names(actor: Actor) -> dict[str, tuple[bool, bool, list[str]]]:
        found = p.service.available_transitions(runtime, "deal", record, actor)
        return {t["name"]: (t["guard_passed"], t["needs_approval"], t["missing_fields"]) for t in found}

    assert names(p.bob) == {"pause": (True, False, []), "lose": (True, True, [])}
    assert names(p.sam) == {
        "pause": (True, False, []),
        "win": (True, False, ["reason"]),
        "lose": (True, True, []),
    }
    assert names(p.mia) == {"pause": (True, False, []), "lose": (True, False, [])}


def test_a_refusal_inside_the_callers_transaction_leaves_that_transaction_usable(p: Pipeline) -> None:
    deal = p.deal()
    runtime = p.world.runtime()
    with p.db.begin() as conn:
        runtime.update("deal", deal["id"], {"title": "Renamed"}, conn=conn)
        with pytest.raises(TransitionRefused):
            p.service.transition(runtime, "deal", deal["id"], "win", actor=p.sam, conn=conn)
        p.service.transition(runtime, "deal", deal["id"], "publish", actor=p.sam, conn=conn)
    record = runtime.get("deal", deal["id"])
    assert (record["title"], record["stage"]) == ("Renamed", "open")
    with p.db.connect() as conn:
        assert (
            conn.execute(select(state_history.c.to_state).where(state_history.c.is_current)).scalar()
            == "open"
        )
