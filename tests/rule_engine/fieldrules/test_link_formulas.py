"""A formula reading a linked record (``member.tier``) follows that record's changes through the runtime."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.audit.records import install_record_audit
from metamodel.errors import RecordInvalid
from metamodel.systables import audit_log
from rule_engine.testing.world import World, entity, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def linked_shop(**extra: Any) -> dict[str, Any]:
    bundle = shop()
    bundle["entity"]["member"]["fields"].append({"name": "note", "type": "text"})
    bundle["entity"]["purchase"]["fields"] += [
        {"name": "buyer", "type": "text", "rules": {"formula": "member.name"}},
        {"name": "member_tier", "type": "text", "rules": {"formula": "member.tier"}},
    ]
    bundle["entity"]["shipment"] = entity(
        "shipment",
        [
            {"name": "purchase", "type": "link", "target": "purchase", "on_delete": "cascade"},
            {"name": "addressee", "type": "text", "rules": {"formula": "purchase.member.name"}},
        ],
    )
    bundle["entity"]["memo"] = entity("memo", [{"name": "text", "type": "text"}])
    bundle["trigger"] = {
        "tier_moved": {
            "name": "tier_moved",
            "entity": "purchase",
            "event": "update",
            "changed_fields": ["member_tier"],
            "actions": [{"type": "create_record", "entity": "memo", "values": {"text": "tier moved"}}],
        },
        **extra,
    }
    return bundle


@pytest.fixture
def world(db_url: str) -> World:
    built = make_world(db_url, linked_shop())
    install_record_audit(built.hooks)
    return built


def entries(world: World, entity_name: str, record_id: int) -> list[dict[str, Any]]:
    return world.rows(audit_log, audit_log.c.entity == entity_name, audit_log.c.record_id == record_id)


def test_renaming_a_member_rewrites_the_formulas_of_its_orders_only(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    bob = rt.create("member", {"name": "Bob"})["id"]
    mine = [rt.create("purchase", {"member": ann, "amount": "5"})["id"] for _ in range(2)]
    other = rt.create("purchase", {"member": bob, "amount": "5"})["id"]
    assert rt.get("purchase", mine[0])["buyer"] == "Ann"
    rt.update("member", ann, {"name": "Anna"})
    for purchase_id in mine:
        got = rt.get("purchase", purchase_id)
        # Before: buyer kept "Anna"'s old name until the order itself was saved again.
        assert (got["buyer"], got["lock_version"]) == ("Anna", 2)
        changes = entries(world, "purchase", purchase_id)[-1]["changes"]
        assert changes == {"buyer": ["Ann", "Anna"]}
    assert rt.get("purchase", other)["lock_version"] == 1
    # A member field no formula reads costs the orders nothing.
    rt.update("member", ann, {"note": "vip"})
    assert [rt.get("purchase", i)["lock_version"] for i in mine] == [2, 2]
    assert world.count("memo") == 0  # buyer is not a field the trigger watches


def test_a_roll_up_moving_a_linked_formula_fires_the_readers_triggers(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    first = rt.create("purchase", {"member": ann, "amount": "600"})["id"]
    assert rt.get("purchase", first)["member_tier"] == "standard"
    second = rt.create("purchase", {"member": ann, "amount": "600"})["id"]
    # The second order moved the member's spend over 1000: gold, and both orders read it.
    assert rt.get("member", ann)["tier"] == "gold"
    for purchase_id, version in ((first, 2), (second, 2)):
        got = rt.get("purchase", purchase_id)
        assert (got["member_tier"], got["lock_version"]) == ("gold", version)
    fired = sorted(f["record_id"] for f in world.ledger("tier_moved"))
    assert fired == sorted([first, second])
    assert world.count("memo") == 2


def test_two_hops_follow_both_the_far_record_and_the_middle_link(world: World) -> None:
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    bob = rt.create("member", {"name": "Bob"})["id"]
    order = rt.create("purchase", {"member": ann, "amount": "5"})["id"]
    parcel = rt.create("shipment", {"purchase": order})["id"]
    assert rt.get("shipment", parcel)["addressee"] == "Ann"
    rt.update("member", ann, {"name": "Anna"})
    assert (rt.get("shipment", parcel)["addressee"], rt.get("shipment", parcel)["lock_version"]) == (
        "Anna",
        2,
    )
    rt.update("purchase", order, {"member": bob})
    assert (rt.get("shipment", parcel)["addressee"], rt.get("shipment", parcel)["lock_version"]) == ("Bob", 3)
    rt.update("member", ann, {"name": "Ann"})  # no longer Ann's order: the parcel stays
    assert rt.get("shipment", parcel)["lock_version"] == 3


def test_a_loop_through_a_link_stops_at_the_depth_limit(db_url: str) -> None:
    # The member sums its orders' echo; each order's echo is its member's sum plus one: no fixed point.
    bundle = shop()
    bundle["entity"]["member"]["fields"].append(
        {
            "name": "echoes",
            "type": "integer",
            "rules": {"rollup": {"source": "purchase.member", "kind": "sum", "field": "echo"}},
        }
    )
    bundle["entity"]["purchase"]["fields"].append(
        {"name": "echo", "type": "integer", "rules": {"formula": "coalesce(member.echoes, 0) + 1"}}
    )
    world = make_world(db_url, bundle)
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    with pytest.raises(RecordInvalid) as caught:
        rt.create("purchase", {"member": ann, "amount": "1"})
    assert "levels deep" in caught.value.message
    assert world.count("purchase") == 0
    assert rt.get("member", ann)["lock_version"] == 1
