"""Issue 15 item 13: approval only when ``approval_if`` holds; a new record without its state gets the initial one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid
from tests.rule_engine.workflow.wfsupport import BUNDLE, FLOW, Pipeline, bundle, pipeline


def _conditional() -> dict[str, Any]:
    flow = copy.deepcopy(FLOW)
    for step in flow["transitions"]:
        if step["name"] == "lose":
            step["approval_if"] = "amount >= 500"
    data = bundle(workflow={"deal_flow": flow})
    # The state field is required: a new record must still be creatable without it.
    for definition in data["entity"]["deal"]["fields"]:
        if definition["name"] == "stage":
            definition["required"] = True
    return data


@pytest.fixture
def p(db_url: str) -> Pipeline:
    return pipeline(db_url, _conditional())


def _open(p: Pipeline, amount: int) -> int:
    deal = p.deal(amount=amount)
    p.take(deal["id"], "publish")
    return int(deal["id"])


def test_approval_only_when_the_condition_holds(p: Pipeline) -> None:
    small, big = _open(p, 100), _open(p, 800)
    runtime = p.world.runtime()
    offered = {
        deal: next(
            t
            for t in p.service.available_transitions(runtime, "deal", runtime.get("deal", deal), p.bob)
            if t["name"] == "lose"
        )
        for deal in (small, big)
    }
    assert (offered[small]["needs_approval"], offered[big]["needs_approval"]) == (False, True)
    assert p.take(small, "lose", p.bob).status == "done" and p.stage(small) == "lost"
    pending = p.take(big, "lose", p.bob)
    assert pending.status == "pending" and p.stage(big) == "open"
    # the approver's own request goes through at once
    assert p.take(big, "lose", p.mia).status == "done"


def test_a_new_record_without_its_state_starts_in_the_initial_state(p: Pipeline) -> None:
    created = p.world.runtime().create("deal", {"title": "no stage", "amount": 5}, p.sam)
    assert created["stage"] == "draft"
    blank = p.world.runtime().create("deal", {"title": "blank", "amount": 5, "stage": ""}, p.sam)
    assert blank["stage"] == "draft"
    assert p.history(int(created["id"]))[-1]["to_state"] == "draft"


@pytest.mark.parametrize(
    ("approval_if", "role", "message"),
    [
        ("amount + 1", "manager", "approval_if must be a condition (true or false), not a number"),
        ("amount > 1", None, "approval_if needs an approval_role"),
    ],
)
def test_approval_if_is_checked_at_publish(
    db_url: str, approval_if: str, role: str | None, message: str
) -> None:
    data = copy.deepcopy(BUNDLE)
    step = data["workflow"]["deal_flow"]["transitions"][1]
    step["approval_if"] = approval_if
    if role:
        step["approval_role"] = role
    with pytest.raises(MetadataInvalid) as caught:
        pipeline(db_url, data)
    assert [p.message for p in caught.value.problems] == [message]
