"""Publish-time checks of field rules: shapes, expression types with positions, cycles and roll-ups."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metamodel.errors import MetadataInvalid
from rule_engine.testing.world import make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def problems(db_url: str, bundle: dict[str, Any]) -> dict[str, str]:
    world = make_world(db_url, None)
    with pytest.raises(MetadataInvalid) as caught:
        world.publish(bundle)
    return {p.path: p.message for p in caught.value.problems}


def with_rules(field_index: int, rules: Any, entity: str = "purchase", **extra: Any) -> dict[str, Any]:
    bundle = shop()
    field = bundle["entity"][entity]["fields"][field_index]
    field["rules"] = rules
    field.update(extra)
    return bundle


def test_the_shop_publishes(db_url: str) -> None:
    make_world(db_url, shop())


def test_bad_shapes_are_refused_with_paths(db_url: str) -> None:
    found = problems(
        db_url, with_rules(2, {"formula": 5, "rollup": {"source": "lines", "kind": "avg"}, "hide_if": "x"})
    )
    assert "entity.purchase.fields[2].rules.formula" in found
    assert "entity.purchase.fields[2].rules.rollup.kind" in found
    assert any("hide_if" in path or "hide_if" in message for path, message in found.items())
    bundle = shop()
    bundle["entity"]["purchase"]["rules"] = {"validations": [{"condition": "amount > 0"}]}
    assert "message" in str(problems(db_url, bundle))


def test_formula_type_and_position(db_url: str) -> None:
    found = problems(db_url, with_rules(2, {"formula": "title + 'x'"}))
    assert (
        "gives a string, but amount is a currency field" in found["entity.purchase.fields[2].rules.formula"]
    )
    found = problems(db_url, with_rules(2, {"formula": "total * nope"}))
    message = found["entity.purchase.fields[2].rules.formula"]
    assert "unknown field 'nope'" in message and "position 8" in message


def test_conditions_must_be_boolean(db_url: str) -> None:
    found = problems(
        db_url,
        with_rules(
            0, {"visible_if": "amount", "validations": [{"condition": "len(title)", "message": {"en": "x"}}]}
        ),
    )
    assert "must give a boolean" in found["entity.purchase.fields[0].rules.visible_if"]
    assert "must give a boolean" in found["entity.purchase.fields[0].rules.validations[0].condition"]


def test_formula_fields_are_never_entered(db_url: str) -> None:
    found = problems(db_url, with_rules(11, {"formula": "total", "required_if": "true"}, required=True))
    assert "cannot be required" in found["entity.purchase.fields[11].required"]
    assert "never entered" in found["entity.purchase.fields[11].rules.required_if"]


def test_formula_cycles_are_named(db_url: str) -> None:
    bundle = shop()
    fields = bundle["entity"]["purchase"]["fields"]
    fields[10]["rules"] = {"formula": "net + 1"}  # discount reads net, net reads discount
    found = problems(db_url, bundle)
    cycle = [m for p, m in found.items() if "cycle" in m]
    assert cycle and "discount -> net -> discount" in cycle[0]
    assert "entity.purchase.fields[10].rules.formula" in found


def test_rollup_sources_fields_and_types(db_url: str) -> None:
    base = {"source": "lines", "kind": "sum", "field": "amount"}
    assert (
        "not a child table"
        in problems(db_url, with_rules(5, {"rollup": {**base, "source": "nolines"}}))[
            "entity.purchase.fields[5].rules.rollup.source"
        ]
    )
    assert (
        "link to member"
        in problems(db_url, with_rules(1, {"rollup": {**base, "source": "purchase.title"}}, entity="member"))[
            "entity.member.fields[1].rules.rollup.source"
        ]
    )
    assert (
        "cannot sum a text"
        in problems(db_url, with_rules(5, {"rollup": {**base, "field": "item"}}))[
            "entity.purchase.fields[5].rules.rollup.field"
        ]
    )
    # a count fills an integer field; a sum of money does not fit one
    assert (
        "needs an integer field"
        in problems(db_url, with_rules(0, {"rollup": {"source": "lines", "kind": "count"}}))[
            "entity.purchase.fields[0].rules.rollup"
        ]
    )
    assert (
        "needs a decimal or currency"
        in problems(db_url, with_rules(6, {"rollup": base}))["entity.purchase.fields[6].rules.rollup"]
    )
    assert (
        "database can evaluate"
        in problems(db_url, with_rules(5, {"rollup": {**base, "filter": "len(item) > 2"}}))[
            "entity.purchase.fields[5].rules.rollup.filter"
        ]
    )


def test_hidden_fields_cannot_always_be_required(db_url: str) -> None:
    bundle = copy.deepcopy(shop())
    bundle["entity"]["purchase"]["fields"][0].update(required=True, rules={"visible_if": "amount > 0"})
    assert "use rules.required_if" in problems(db_url, bundle)["entity.purchase.fields[0].required"]
