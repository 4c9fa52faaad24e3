"""Issue 15 item 4 (part): evaluation errors are never silent."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid, RecordInvalid
from rule_engine.expressions import EvaluationError
from rule_engine.expressions.functions import _add_days, _add_hours, _add_months
from rule_engine.testing.world import entity, make_world

SHOP: dict[str, Any] = {
    "entity": {
        "item": entity(
            "item",
            [
                {"name": "name", "type": "text"},
                {"name": "total", "type": "decimal", "scale": 2},
                {"name": "qty", "type": "integer"},
                {"name": "unit_price", "type": "decimal", "scale": 2, "rules": {"formula": "total / qty"}},
            ],
            title_field="name",
        )
    }
}


def test_a_formula_dividing_by_zero_is_a_clear_problem_not_a_silent_null(db_url: str) -> None:
    rt = make_world(db_url, SHOP).runtime()
    assert rt.create("item", {"name": "a", "total": 10, "qty": 4})["unit_price"] == "2.50"
    with pytest.raises(RecordInvalid) as caught:
        rt.create("item", {"name": "b", "total": 10, "qty": 0})  # observed: stored unit_price null
    [problem] = caught.value.problems
    assert (problem.path, problem.code) == ("unit_price", "formula_failed")
    assert "could not be computed (total / qty)" in problem.message


@pytest.mark.parametrize(
    "call",
    [
        lambda: _add_days(dt.date(2026, 1, 1), 1e9),
        lambda: _add_days(dt.date(9999, 12, 1), 100),
        lambda: _add_hours(dt.date(2026, 1, 1), 1e12),
        lambda: _add_months(dt.date(2026, 1, 1), 10**7),
        lambda: _add_days(dt.date(2026, 1, 1), float("inf")),
    ],
)
def test_date_arithmetic_is_bounded(call: Any) -> None:
    with pytest.raises(EvaluationError):  # observed: OverflowError
        call()


def test_a_trigger_condition_that_is_not_boolean_is_refused(db_url: str) -> None:
    world = make_world(db_url, SHOP)
    bundle = copy.deepcopy(SHOP)
    bundle["trigger"] = {
        "t": {
            "name": "t",
            "entity": "item",
            "event": "create",
            "condition": "qty + 1",
            "actions": [{"type": "set_fields", "values": {"name": "x"}}],
        }
    }
    with pytest.raises(MetadataInvalid) as caught:
        world.publish(bundle)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("trigger.t.condition", "a condition must be true or false, not a number")
    ]
