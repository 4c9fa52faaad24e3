"""A roll-up moved by another record's change is a change of the parent: versioned, audited, triggering."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.audit.records import install_record_audit
from metamodel.errors import RecordInvalid
from metamodel.systables import audit_log
from rule_engine.testing.world import World, entity, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def watched_shop(**extra: Any) -> dict[str, Any]:
    bundle = shop()
    bundle["entity"]["memo"] = entity("memo", [{"name": "text", "type": "text"}])
    bundle["trigger"] = {
        "orders_moved": {
            "name": "orders_moved",
            "entity": "member",
            "event": "update",
            "changed_fields": ["orders"],
            "actions": [{"type": "create_record", "entity": "memo", "values": {"text": "orders moved"}}],
        },
        **extra,
    }
    return bundle


def audited(world: World) -> World:
    install_record_audit(world.hooks)
    return world


def member_entries(world: World, member_id: int) -> list[dict[str, Any]]:
    return world.rows(audit_log, audit_log.c.entity == "member", audit_log.c.record_id == member_id)


def test_child_write_bumps_audits_and_triggers_the_parent(db_url: str) -> None:
    world = audited(make_world(db_url, watched_shop()))
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})
    assert ann["lock_version"] == 1
    order = rt.create("purchase", {"member": ann["id"], "amount": "100", "placed": "2026-03-01"})
    got = rt.get("member", ann["id"])
    # Before: the roll-up changed in place (orders 1) with lock_version 1, no audit entry, no firing.
    assert (got["orders"], got["lock_version"]) == (1, 2)
    entries = member_entries(world, ann["id"])
    assert [e["action"] for e in entries] == ["record.create", "record.update"]
    assert entries[-1]["changes"]["orders"] == [0, 1]
    assert entries[-1]["changes"]["spent_12m"] == ["0.00", "100.00"]
    assert [f["due_key"] for f in world.ledger("orders_moved")] == ["update:2"]
    assert world.count("memo") == 1
    # A change no roll-up reads leaves the parent alone.
    rt.update("purchase", order["id"], {"title": "renamed"})
    assert rt.get("member", ann["id"])["lock_version"] == 2
    # A change of a summed amount moves it, but not the count: no firing of the orders trigger.
    rt.update("purchase", order["id"], {"amount": "150"})
    got = rt.get("member", ann["id"])
    assert (got["spent_12m"], got["lock_version"]) == ("150.00", 3)
    assert len(world.ledger("orders_moved")) == 1
    # Deleting the child moves the parent back, through the runtime too.
    rt.delete("purchase", order["id"])
    got = rt.get("member", ann["id"])
    assert (got["orders"], got["spent_12m"], got["lock_version"]) == (0, "0.00", 4)
    assert [f["due_key"] for f in world.ledger("orders_moved")] == ["update:2", "update:4"]
    assert len(member_entries(world, ann["id"])) == 4


def test_lines_move_a_grandparent_once_per_save(db_url: str) -> None:
    world = audited(make_world(db_url, watched_shop()))
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    order = rt.create("purchase", {"member": ann, "amount": "1"})
    lines = [{"item": "a", "qty": 2, "price": "60"}, {"item": "b", "qty": 1, "price": "5"}]
    rt.update("purchase", order["id"], {"lines": lines})
    got = rt.get("member", ann)
    # The member's lifetime sums the orders' line totals: one write for the whole save.
    assert (got["lifetime"], got["lock_version"]) == ("125.00", 3)
    assert [e["summary"] for e in member_entries(world, ann)][-1] == f"updated member {ann}: lifetime"


def test_moving_a_child_updates_both_parents(db_url: str) -> None:
    world = audited(make_world(db_url, watched_shop()))
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    bob = rt.create("member", {"name": "Bob"})["id"]
    order = rt.create("purchase", {"member": ann, "amount": "10"})
    rt.update("purchase", order["id"], {"member": bob})
    assert (rt.get("member", ann)["orders"], rt.get("member", ann)["lock_version"]) == (0, 3)
    assert (rt.get("member", bob)["orders"], rt.get("member", bob)["lock_version"]) == (1, 2)
    assert sorted(f["record_id"] for f in world.ledger("orders_moved")) == sorted([ann, ann, bob])


def test_a_trigger_loop_through_a_roll_up_stops_with_a_logged_error(db_url: str) -> None:
    # Every new order moves the member's count, whose trigger creates another order: a loop.
    looping = {
        "name": "reorder",
        "entity": "member",
        "event": "update",
        "changed_fields": ["orders"],
        "actions": [
            {
                "type": "create_record",
                "entity": "purchase",
                "link_field": "member",
                "values": {"amount": "1"},
            }
        ],
    }
    world = make_world(db_url, watched_shop(reorder=looping))
    rt = world.runtime()
    ann = rt.create("member", {"name": "Ann"})["id"]
    rt.create("purchase", {"member": ann, "amount": "1"})
    outcomes = [f["status"] for f in world.ledger("reorder")]
    assert outcomes and len(outcomes) < 20
    assert world.count("purchase") == rt.get("member", ann)["orders"]


def chain(levels: int) -> dict[str, Any]:
    # level_0 sums the n of level_1 records linking to it, ..., the last but one counts the last.
    entities = {}
    for level in range(levels):
        fields: list[dict[str, Any]] = [{"name": "name", "type": "text"}]
        if level + 1 < levels:
            rollup = {"source": f"level_{level + 1}.up", "kind": "sum", "field": "n"}
            if level + 2 == levels:
                rollup = {"source": f"level_{level + 1}.up", "kind": "count"}
            fields.append({"name": "n", "type": "integer", "rules": {"rollup": rollup}})
        if level > 0:
            fields.append(
                {"name": "up", "type": "link", "target": f"level_{level - 1}", "on_delete": "cascade"}
            )
        entities[f"level_{level}"] = entity(f"level_{level}", fields)
    return {"entity": entities}


def test_roll_ups_nested_too_deep_are_refused_with_a_clear_error(db_url: str) -> None:
    world = make_world(db_url, chain(13))
    rt = world.runtime()
    parent = rt.create("level_0", {"name": "top"})["id"]
    for level in range(1, 12):
        parent = rt.create(f"level_{level}", {"name": str(level), "up": parent})["id"]
    with pytest.raises(RecordInvalid) as caught:
        rt.create("level_12", {"name": "too deep", "up": parent})
    assert "levels deep" in caught.value.message
    assert world.count("level_12") == 0
    # Ten levels are fine: each ancestor got the new total through its own versioned update.
    world = make_world(db_url, chain(11))
    rt = world.runtime()
    ids = [rt.create("level_0", {"name": "top"})["id"]]
    for level in range(1, 11):
        ids.append(rt.create(f"level_{level}", {"name": str(level), "up": ids[-1]})["id"])
    assert [rt.get(f"level_{level}", ids[level])["n"] for level in range(10)] == [1] * 10
    assert rt.get("level_0", ids[0])["lock_version"] == 2
