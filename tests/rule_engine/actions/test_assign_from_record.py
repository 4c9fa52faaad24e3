"""assign_owner choosing among users the record names: a role's members in its store, a team named by a field."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.access.admin import AccessAdmin
from metamodel.errors import MetadataInvalid
from rule_engine.tables import action_log, assignment_cursors
from rule_engine.testing.world import World, add_user, entity, make_world, select_field


def bundle(*actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A ticket with a store (org unit name) and a desk (team name), and one on-create rule."""
    fields = [
        {"name": "subject", "type": "text"},
        select_field("store", ["north", "n1", "n2"]),
        {"name": "desk", "type": "text"},
        select_field("status", ["open", "closed"], default="open"),
    ]
    return {
        "entity": {"ticket": entity("ticket", fields, title_field="subject", **extra)},
        "trigger": {
            "rule": {"name": "rule", "entity": "ticket", "event": "create", "actions": list(actions)}
        },
    }


def stores(world: World) -> dict[str, int]:
    """north -> n1, n2; returns the unit ids by name."""
    admin = AccessAdmin(world.db, clock=world.clock)
    north = admin.create_unit("north")["id"]
    return {
        "north": north,
        "n1": admin.create_unit("n1", north)["id"],
        "n2": admin.create_unit("n2", north)["id"],
    }


def staff(
    world: World, units: dict[str, int], name: str, unit: str, *roles: str, teams: tuple[str, ...] = ()
) -> int:
    """An active user of ``unit`` with ``roles`` and ``teams``."""
    user = add_user(world.db, name, role_names=roles, team_names=teams)
    AccessAdmin(world.db, clock=world.clock).set_user_unit(user, units[unit])
    return user


def test_round_robin_among_the_role_in_the_records_store(db_url: str) -> None:
    """Each store's engineers take turns on its tickets; another role or store is never chosen."""
    action = {"type": "assign_owner", "mode": "round_robin", "role": "engineer", "unit_field": "store"}
    world = make_world(db_url, bundle(action))
    units = stores(world)
    ann, bob = staff(world, units, "ann", "n1", "engineer"), staff(world, units, "bob", "n1", "engineer")
    staff(world, units, "cy", "n1", "sales")
    dan = staff(world, units, "dan", "n2", "engineer")
    runtime = world.runtime()
    owners = [
        runtime.create("ticket", {"subject": str(i), "store": s})["owner_id"]
        for i, s in enumerate(["n1", "n2", "n1", "n1", "n2"])
    ]
    assert owners == [ann, dan, bob, ann, dan]
    assert {row["key"] for row in world.rows(assignment_cursors)} == {
        "ticket:role engineer in unit n1",
        "ticket:role engineer in unit n2",
    }


def test_least_loaded_in_the_team_a_field_names(db_url: str) -> None:
    """The desk field names the team; its least-loaded member gets the ticket."""
    action = {
        "type": "assign_owner",
        "mode": "least_loaded",
        "team_field": "desk",
        "open_condition": "status == 'open'",
    }
    world = make_world(db_url, bundle(action))
    ann = add_user(world.db, "ann", team_names=["billing"])
    bob = add_user(world.db, "bob", team_names=["billing"])
    eve = add_user(world.db, "eve", team_names=["tech"])
    runtime = world.runtime()
    runtime.create("ticket", {"subject": "held", "owner_id": ann, "desk": "none"})
    assert runtime.create("ticket", {"subject": "a", "desk": "billing"})["owner_id"] == bob
    assert runtime.create("ticket", {"subject": "b", "desk": "tech"})["owner_id"] == eve
    assert runtime.create("ticket", {"subject": "c", "desk": "billing"})["owner_id"] == ann


def test_the_entitys_unit_field_or_the_owners_unit_and_subunits(db_url: str) -> None:
    """Without unit_field the entity's org unit field decides, then the owner's unit; subunits on request."""
    action = {"type": "assign_owner", "mode": "round_robin", "role": "engineer", "include_subunits": True}
    world = make_world(db_url, bundle(action, org_unit_field="store"))
    units = stores(world)
    ann = staff(world, units, "ann", "n1", "engineer")
    dan = staff(world, units, "dan", "n2", "engineer")
    boss = staff(world, units, "boss", "north", "manager")
    runtime = world.runtime()
    assert runtime.create("ticket", {"subject": "at n2", "store": "n2"})["owner_id"] == dan
    # no store: the owner's unit (north) and below: ann then dan
    owners = [runtime.create("ticket", {"subject": str(i), "owner_id": boss})["owner_id"] for i in range(2)]
    assert owners == [ann, dan]


def test_no_one_to_choose_fails_with_the_reason(db_url: str) -> None:
    """A store without engineers, and a ticket naming no team, leave the owner and log why."""
    world = make_world(
        db_url,
        bundle({"type": "assign_owner", "mode": "round_robin", "role": "engineer", "unit_field": "store"}),
    )
    stores(world)
    assert world.runtime().create("ticket", {"subject": "x", "store": "n2"})["owner_id"] is None
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert "role 'engineer' in unit 'n2' has no active members" in failure["message"]


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        ({"team": "a", "role": "b"}, "team", "exactly one of team, team_field or role"),
        ({"team_field": "nowhere"}, "team_field", "unknown field 'nowhere'"),
        ({"role": "engineer", "unit_field": "status2"}, "unit_field", "unknown field 'status2'"),
        ({"team": "a", "unit_field": "store"}, "unit_field", "only a role's members"),
    ],
)
def test_bad_candidate_settings_are_refused(
    db_url: str, action: dict[str, Any], path: str, message: str
) -> None:
    """Publishing refuses ambiguous or dangling candidate settings, naming the setting."""
    world = make_world(db_url, None)
    with pytest.raises(MetadataInvalid) as caught:
        world.publish(bundle({"type": "assign_owner", "mode": "round_robin", **action}))
    found = {p.path.rsplit(".", 1)[-1]: p.message for p in caught.value.problems}
    assert path in found and message in found[path], found
