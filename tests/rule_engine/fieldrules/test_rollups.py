"""Roll-ups stay correct when child lines or linking records are added, changed, moved or deleted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from metamodel.records.query import Filter, ListQuery
from rule_engine.testing.world import World, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def member(world: World, member_id: int) -> dict[str, Any]:
    return world.runtime().get("member", member_id)


def test_child_table_rollups_after_add_change_and_delete(db_url: str) -> None:
    world = make_world(db_url, shop())
    rt = world.runtime()
    order = rt.create(
        "purchase", {"lines": [{"item": "a", "qty": 2, "price": "60"}, {"item": "b", "price": "5"}]}
    )
    assert [line["amount"] for line in order["lines"]] == ["120.00", "5.00"]  # line formulas, default qty 1
    assert (order["total"], order["line_count"], order["big_lines"]) == ("125.00", 2, 1)
    assert (order["cheapest"], order["dearest"], order["net"]) == ("5.00", "60.00", "125.00")
    first, second = order["lines"]
    # change a line, add one
    order = rt.update(
        "purchase",
        order["id"],
        {
            "lines": [
                {"id": first["id"], "item": "a", "qty": 3, "price": "60"},
                {"id": second["id"], "item": "b", "qty": 1, "price": "5"},
                {"item": "c", "qty": 1, "price": "0.50"},
            ]
        },
    )
    assert (order["total"], order["line_count"], order["big_lines"], order["cheapest"]) == (
        "185.50",
        3,
        1,
        "0.50",
    )
    # delete lines
    order = rt.update(
        "purchase", order["id"], {"lines": [{"id": second["id"], "item": "b", "qty": 1, "price": "5"}]}
    )
    assert (order["total"], order["line_count"], order["big_lines"]) == ("5.00", 1, 0)
    assert (order["cheapest"], order["dearest"]) == ("5.00", "5.00")
    order = rt.update("purchase", order["id"], {"lines": [], "discount": "2"})
    assert (order["total"], order["line_count"], order["cheapest"], order["net"]) == (
        "0.00",
        0,
        None,
        "-2.00",
    )


def test_linking_rollups_after_add_change_move_and_delete(db_url: str) -> None:
    world = make_world(db_url, shop())
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    bob = rt.create("member", {"name": "Bob"})["id"]
    one = rt.create("purchase", {"member": ann, "amount": "100", "placed": "2026-01-10"})["id"]
    two = rt.create(
        "purchase",
        {
            "member": ann,
            "amount": "40",
            "placed": "2025-12-01",
            "lines": [{"item": "x", "qty": 4, "price": "10"}],
        },
    )["id"]
    got = member(world, ann)
    assert (got["orders"], got["spent_12m"], got["biggest"], got["first_order"]) == (
        2,
        "140.00",
        "100.00",
        "2025-12-01",
    )
    assert got["lifetime"] == "40.00"  # a roll-up of the orders' own roll-up of their lines
    # change
    rt.update("purchase", one, {"amount": "10"})
    assert (member(world, ann)["spent_12m"], member(world, ann)["biggest"]) == ("50.00", "40.00")
    # move to another member
    rt.update("purchase", two, {"member": bob})
    got_ann, got_bob = member(world, ann), member(world, bob)
    assert (got_ann["orders"], got_ann["spent_12m"], got_ann["lifetime"], got_ann["first_order"]) == (
        1,
        "10.00",
        "0.00",
        "2026-01-10",
    )
    assert (got_bob["orders"], got_bob["spent_12m"], got_bob["lifetime"], got_bob["biggest"]) == (
        1,
        "40.00",
        "40.00",
        "40.00",
    )
    # delete
    rt.delete("purchase", two)
    got_bob = member(world, bob)
    assert (got_bob["orders"], got_bob["spent_12m"], got_bob["biggest"], got_bob["first_order"]) == (
        0,
        "0.00",
        None,
        None,
    )
    # unlink
    rt.update("purchase", one, {"member": None})
    assert member(world, ann)["orders"] == 0


def test_rollups_and_formulas_are_stored_columns_lists_filter_and_sort_on(db_url: str) -> None:
    world = make_world(db_url, shop())
    rt = world.runtime()
    for name, amounts in (("Ann", ["700", "400"]), ("Bob", ["50"]), ("Cy", [])):
        member_id = rt.create("member", {"name": name})["id"]
        for amount in amounts:
            rt.create("purchase", {"member": member_id, "amount": amount})
    page = rt.list(
        "member", ListQuery(filters=[Filter("spent_12m", "gte", Decimal("50"))], sort="-spent_12m")
    )
    assert [(m["name"], m["spent_12m"]) for m in page.items] == [("Ann", "1100.00"), ("Bob", "50.00")]
    gold = rt.list("member", ListQuery(filters=[Filter("tier", "eq", "gold")]))
    assert [m["name"] for m in gold.items] == ["Ann"]


def test_tier_rises_and_falls_with_twelve_month_spend_and_with_time(db_url: str) -> None:
    bundle = shop()
    bundle["trigger"] = {
        "recompute_daily": {
            "name": "recompute_daily",
            "entity": "member",
            "event": "time",
            "schedule": {"cron": "0 3 * * *"},
            "actions": [{"type": "recompute_fields"}],
        }
    }
    world = make_world(db_url, bundle)
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    old = rt.create("purchase", {"member": ann, "amount": "600", "placed": "2025-04-01"})["id"]
    assert member(world, ann)["tier"] == "standard"
    recent = rt.create("purchase", {"member": ann, "amount": "500", "placed": "2026-02-01"})["id"]
    assert (member(world, ann)["tier"], member(world, ann)["spent_12m"]) == (
        "gold",
        "1100.00",
    )  # crossed 1000
    rt.update("purchase", recent, {"amount": "300"})
    assert member(world, ann)["tier"] == "standard"  # fell back below
    rt.update("purchase", recent, {"amount": "450"})
    assert member(world, ann)["tier"] == "gold"
    # No write at all: the April order leaves the twelve-month window on 2026-04-01 and the daily
    # cron trigger recomputes the roll-up and the tier formula reading it.
    world.clock.advance(days=30)
    world.run_due()
    assert member(world, ann)["tier"] == "gold"
    world.clock.advance(days=1)
    world.run_due()
    got = member(world, ann)
    assert (got["spent_12m"], got["tier"], got["lifetime"]) == ("450.00", "standard", "0.00")
    rt.delete("purchase", old)
    assert member(world, ann)["orders"] == 1
