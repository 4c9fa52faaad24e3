"""A record created with an owner passes the field rules (the owner is a system column, not a field)."""

from __future__ import annotations

from rule_engine.testing.world import add_user, make_world
from tests.rule_engine.fieldrules.fieldrule_shop import shop


def test_creating_with_an_owner_applies_the_field_rules(db_url: str) -> None:
    world = make_world(db_url, shop())
    ann = add_user(world.db, "ann")
    purchase = world.runtime().create("purchase", {"amount": "12", "owner_id": ann})
    assert (purchase["owner_id"], purchase["placed"]) == (ann, world.clock().date().isoformat())
