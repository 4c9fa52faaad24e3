"""A formula aggregating the records that link here (``count('deal.customer', ...)``) follows their changes."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.audit.records import install_record_audit
from metamodel.systables import audit_log
from rule_engine.testing.world import World, entity, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def aggregating_shop() -> dict[str, Any]:
    # The member of the shop has roll-ups over its orders; this customer has only formulas reading its deals.
    bundle = shop()
    bundle["entity"]["customer"] = entity(
        "customer",
        [
            {"name": "name", "type": "text"},
            {
                "name": "big_deals",
                "type": "integer",
                "rules": {"formula": "count('deal.customer', 'amount >= 100')"},
            },
            {"name": "spend", "type": "currency", "rules": {"formula": "sum('deal.customer', 'amount')"}},
            {
                "name": "latest",
                "type": "text",
                "rules": {"formula": "'n=' || last_n_count('deal.customer', 2, 'amount > 0', 'placed')"},
            },
        ],
        title_field="name",
    )
    bundle["entity"]["deal"] = entity(
        "deal",
        [
            {"name": "title", "type": "text"},
            {"name": "customer", "type": "link", "target": "customer"},
            {"name": "amount", "type": "currency"},
            {"name": "placed", "type": "date"},
        ],
    )
    bundle["entity"]["memo"] = entity("memo", [{"name": "text", "type": "text"}])
    bundle["trigger"] = {
        "big_moved": {
            "name": "big_moved",
            "entity": "customer",
            "event": "update",
            "changed_fields": ["big_deals"],
            "actions": [{"type": "create_record", "entity": "memo", "values": {"text": "big deals moved"}}],
        },
    }
    return bundle


@pytest.fixture
def world(db_url: str) -> World:
    built = make_world(db_url, aggregating_shop())
    install_record_audit(built.hooks)
    return built


def customer(world: World, customer_id: int) -> tuple[Any, ...]:
    got = world.runtime().get("customer", customer_id)
    return got["big_deals"], str(got["spend"]), got["lock_version"]


def test_a_deal_moves_its_customers_aggregating_formulas_through_the_runtime(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("customer", {"name": "Ann"})["id"]
    assert customer(world, ann)[:2] == (0, "0.00")
    deal = rt.create("deal", {"customer": ann, "amount": "150"})["id"]
    # Before: the customer's formulas kept 0 until the customer itself was saved again.
    big, spend, version = customer(world, ann)
    assert (big, spend, version) == (1, "150.00", 2)
    changes = world.rows(audit_log, audit_log.c.entity == "customer", audit_log.c.record_id == ann)[-1][
        "changes"
    ]
    assert changes["big_deals"] == [0, 1]
    assert [f["record_id"] for f in world.ledger("big_moved")] == [ann]
    assert world.count("memo") == 1
    rt.update("deal", deal, {"amount": "50"})
    assert customer(world, ann)[0] == 0
    assert world.count("memo") == 2


def test_a_change_no_aggregate_reads_costs_the_customer_nothing(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("customer", {"name": "Ann"})["id"]
    deal = rt.create("deal", {"customer": ann, "amount": "150"})["id"]
    version = customer(world, ann)[2]
    rt.update("deal", deal, {"title": "renamed"})
    assert customer(world, ann)[2] == version


def test_moving_and_deleting_a_deal_refreshes_both_customers(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("customer", {"name": "Ann"})["id"]
    bob = rt.create("customer", {"name": "Bob"})["id"]
    deal = rt.create("deal", {"customer": ann, "amount": "150"})["id"]
    rt.update("deal", deal, {"customer": bob})
    assert customer(world, ann)[:2] == (0, "0.00")
    assert customer(world, bob)[0] == 1
    rt.delete("deal", deal)
    assert customer(world, bob)[:2] == (0, "0.00")
    assert world.count("memo") == 4  # ann 0 -> 1 -> 0, bob 0 -> 1 -> 0


def test_last_n_count_follows_the_order_field_it_sorts_by(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("customer", {"name": "Ann"})["id"]
    first = rt.create("deal", {"customer": ann, "amount": "0", "placed": "2026-01-01"})["id"]
    rt.create("deal", {"customer": ann, "amount": "5", "placed": "2026-02-01"})
    rt.create("deal", {"customer": ann, "amount": "5", "placed": "2026-03-01"})
    assert rt.get("customer", ann)["latest"] == "n=2"
    rt.update("deal", first, {"placed": "2026-12-01"})  # now among the latest two, with amount 0
    assert rt.get("customer", ann)["latest"] == "n=1"
