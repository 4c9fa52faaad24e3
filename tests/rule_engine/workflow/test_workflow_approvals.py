"""Transitions with an approval role wait for a holder of that role to approve or reject them."""

from __future__ import annotations

import pytest

from metamodel.errors import NotFound
from rule_engine.tables import approvals
from rule_engine.workflow import ApprovalNotPending, TransitionForbidden, TransitionRefused
from tests.rule_engine.workflow.wfsupport import Pipeline, pipeline


@pytest.fixture
def p(db_url: str) -> Pipeline:
    return pipeline(db_url)


def open_deal(p: Pipeline) -> int:
    deal = p.deal()
    p.take(deal["id"], "publish")
    return int(deal["id"])


def test_a_request_waits_and_an_approval_moves_the_state(p: Pipeline) -> None:
    deal = open_deal(p)
    history = len(p.history(deal))
    pending = p.take(deal, "lose", p.bob, comment="customer went silent")
    assert pending.status == "pending" and pending.approval_id is not None
    assert p.stage(deal) == "open" and len(p.history(deal)) == history
    [row] = p.world.rows(approvals)
    assert (row["transition"], row["role"], row["requested_by"], row["status"], row["comment"]) == (
        "lose",
        "manager",
        p.bob.user_id,
        "pending",
        "customer went silent",
    )
    with pytest.raises(TransitionRefused) as again:
        p.take(deal, "lose", p.bob)
    assert again.value.reason == "pending"
    runtime = p.world.runtime()
    for outsider in (p.bob, p.sam):
        with pytest.raises(TransitionForbidden):
            p.service.approve(runtime, "deal", deal, pending.approval_id, actor=outsider)
    with pytest.raises(NotFound):
        p.service.approve(runtime, "deal", deal + 1, pending.approval_id, actor=p.mia)
    done = p.service.approve(runtime, "deal", deal, pending.approval_id, actor=p.mia, comment="ok")
    assert done.status == "done" and done["stage"] == "lost" and p.stage(deal) == "lost"
    last = p.history(deal)[-1]
    assert (last["transition"], last["actor_id"], last["comment"], last["is_current"]) == (
        "lose",
        p.mia.user_id,
        "customer went silent",
        True,
    )
    [row] = p.world.rows(approvals)
    assert (row["status"], row["decided_by"], row["decision_comment"]) == ("approved", p.mia.user_id, "ok")
    with pytest.raises(ApprovalNotPending):
        p.service.reject(runtime, "deal", deal, pending.approval_id, actor=p.mia)


def test_a_rejection_leaves_the_record_where_it_is(p: Pipeline) -> None:
    deal = open_deal(p)
    pending = p.take(deal, "lose", p.sam)
    runtime = p.world.runtime()
    closed = p.service.reject(runtime, "deal", deal, pending.approval_id, actor=p.mia, comment="keep trying")
    assert (closed["status"], closed["decision_comment"]) == ("rejected", "keep trying")
    assert p.stage(deal) == "open"
    assert p.service.pending_approvals(runtime, "deal", deal) == []
    with pytest.raises(ApprovalNotPending):
        p.service.approve(runtime, "deal", deal, pending.approval_id, actor=p.mia)
    assert p.take(deal, "lose", p.sam).status == "pending"  # a new request may follow


def test_holders_of_the_approval_role_move_at_once(p: Pipeline) -> None:
    deal = open_deal(p)
    assert p.take(deal, "lose", p.mia).status == "done"
    assert p.stage(deal) == "lost" and p.world.count(approvals) == 0


def test_an_approval_is_refused_when_the_record_moved_on_meanwhile(p: Pipeline) -> None:
    deal = open_deal(p)
    pending = p.take(deal, "lose", p.bob)
    p.take(deal, "pause", p.bob)
    with pytest.raises(TransitionRefused) as caught:
        p.service.approve(p.world.runtime(), "deal", deal, pending.approval_id, actor=p.mia)
    assert caught.value.reason == "state"
    assert p.world.rows(approvals)[0]["status"] == "pending"
