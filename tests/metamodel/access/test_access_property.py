"""Property test: over random org trees, users, roles, shares and records, list/get/update show and
change exactly what a plain Python model of the rules allows."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metamodel.access import AccessDenied
from metamodel.errors import NotFound
from metamodel.records.globalsearch import search_entities
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.systables import (
    org_unit_tree,
    org_units,
    record_shares,
    role_permissions,
    roles,
    team_members,
    teams,
    user_org_units,
    user_role_expiry,
    user_roles,
    users,
)
from tests.metamodel.access.accesssupport import Shop, make_shop
from tests.metamodel.mmsupport import T0, Site

SCOPE = st.sampled_from([None, "own", "org_unit", "org_subtree", "org_subtree", "all"])
EXPIRY = st.sampled_from([None, "past", "future"])
ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE", "sqlite").strip().lower() == "postgresql"


@dataclass
class World:
    """One generated situation, by index: units, users, roles, teams, records and shares."""

    parents: list[int | None]  # parent index of each unit (always an earlier unit)
    move: tuple[int, int | None] | None  # (unit, new parent) applied after building, when legal
    user_units: list[int | None]
    admins: list[bool]
    roles: list[dict[str, Any]]  # {"entity": "deal" | "*", "read": scope, "update": scope, "note": scope}
    assignments: list[tuple[int, int, str | None]]  # (user, role, expiry), at most one per pair
    team_of: list[list[int]]  # members of each team
    owners: list[int | None]  # owner index of each record
    shares: list[
        tuple[int, str, int, str, str | None]
    ]  # (record, "user"|"team", grantee, permission, expiry)


@st.composite
def worlds(draw: Any) -> World:
    n_units = draw(st.integers(1, 6))
    # Chains (parent = the previous unit) are drawn often, so deep subtrees are common.
    parents: list[int | None] = [None] + [
        draw(st.sampled_from([i - 1, i - 1, i - 1, None, *range(i)])) for i in range(1, n_units)
    ]
    move = draw(
        st.one_of(
            st.none(),
            st.tuples(st.integers(0, n_units - 1), st.one_of(st.none(), st.integers(0, n_units - 1))),
        )
    )
    n_users = draw(st.integers(2, 6))
    # The first unit (a root) and the last (often the deepest) are drawn often, so scopes span levels.
    unit = st.sampled_from([n_units - 1, 0, n_units - 1, 0, None, *range(n_units)])
    user_units = [draw(unit) for _ in range(n_users)]
    admins = [draw(st.integers(0, 9)) == 0 for _ in range(n_users)]
    role_list = [
        {
            "entity": draw(st.sampled_from(["deal", "*"])),
            "read": draw(SCOPE),
            "update": draw(SCOPE),
            "note": draw(SCOPE),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    # Each user holds each role with probability about one half; a few of the grants are time-limited.
    held = st.sampled_from(["no", "no", None, None, "past", "future"])
    assignments = [
        (u, r, expiry)
        for u in range(n_users)
        for r in range(len(role_list))
        if (expiry := draw(held)) != "no"
    ]
    team_of = [
        draw(st.lists(st.integers(0, n_users - 1), unique=True, max_size=n_users))
        for _ in range(draw(st.integers(0, 2)))
    ]
    n_records = draw(st.integers(1, 10))
    owners = [draw(st.one_of(st.integers(0, n_users - 1), st.none())) for _ in range(n_records)]
    grantee_kinds = ["user", "team"] if team_of else ["user"]
    shares = []
    if n_records:
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(grantee_kinds))
            grantee = draw(st.integers(0, (n_users if kind == "user" else len(team_of)) - 1))
            shares.append(
                (
                    draw(st.integers(0, n_records - 1)),
                    kind,
                    grantee,
                    draw(st.sampled_from(["read", "write"])),
                    draw(EXPIRY),
                )
            )
    return World(parents, move, user_units, admins, role_list, assignments, team_of, owners, shares)


# --- the oracle: the rules in plain Python --------------------------------------------------------
def final_parents(world: World) -> list[int | None]:
    parents = list(world.parents)
    if world.move is not None:
        unit, new_parent = world.move
        if new_parent is None or unit not in ancestors(parents, new_parent):
            parents[unit] = new_parent
    return parents


def ancestors(parents: list[int | None], unit: int) -> set[int]:
    """The unit and every unit above it."""
    found: set[int] = set()
    current: int | None = unit
    while current is not None and current not in found:
        found.add(current)
        current = parents[current]
    return found


def alive(expiry: str | None) -> bool:
    return expiry != "past"


def scopes(world: World, user: int, entity: str, operation: str) -> set[str]:
    """The scopes the user's unexpired roles grant for ``operation`` on ``entity`` ('*' rows included)."""
    held = {role for u, role, expiry in world.assignments if u == user and alive(expiry)}
    found = set()
    for role in held:
        spec = world.roles[role]
        if entity == "note" and operation == "read" and spec["note"]:
            found.add(spec["note"])
        if spec[operation] and spec["entity"] in (entity, "*"):
            found.add(spec[operation])
    return found


def owner_allowed(
    world: World, parents: list[int | None], user: int, granted: set[str], owner: int | None
) -> bool:
    if "all" in granted:
        return True
    if owner is None:
        return False
    if "own" in granted and owner == user:
        return True
    mine, theirs = world.user_units[user], world.user_units[owner]
    if mine is None or theirs is None:
        return False
    if "org_unit" in granted and mine == theirs:
        return True
    return "org_subtree" in granted and mine in ancestors(parents, theirs)


def shared(world: World, user: int, record: int, permissions: tuple[str, ...]) -> bool:
    for rec, kind, grantee, permission, expiry in world.shares:
        if rec != record or permission not in permissions or not alive(expiry):
            continue
        if (kind == "user" and grantee == user) or (kind == "team" and user in world.team_of[grantee]):
            return True
    return False


# --- building the world in the database -----------------------------------------------------------
def reset(shop: Shop) -> None:
    deal = shop.runtime.model.entity("deal").table
    with shop.site.engine.begin() as conn:
        for table in (
            record_shares,
            team_members,
            teams,
            user_role_expiry,
            user_roles,
            role_permissions,
            roles,
            user_org_units,
            deal,
        ):
            conn.execute(table.delete())
        conn.execute(org_units.update().values(parent_id=None))
        conn.execute(org_unit_tree.delete())
        conn.execute(org_units.delete())
        conn.execute(users.delete())
    shop.names.clear()
    shop.admins.clear()


def expiry_time(expiry: str | None) -> dt.datetime | None:
    return (
        None if expiry is None else T0 + (dt.timedelta(days=-1) if expiry == "past" else dt.timedelta(days=1))
    )


def build(shop: Shop, world: World) -> tuple[list[int], list[int], list[int]]:
    """Create the world; return the database ids of units, users and records."""
    admin = shop.admin
    unit_ids: list[int] = []
    for index, parent in enumerate(world.parents):
        unit_ids.append(admin.create_unit(f"u{index}", None if parent is None else unit_ids[parent])["id"])
    if world.move is not None:
        unit, new_parent = world.move
        try:
            admin.update_unit(unit_ids[unit], parent_id=None if new_parent is None else unit_ids[new_parent])
        except Exception as exc:  # moving below itself is refused, the oracle keeps the tree too
            assert "below itself" in str(exc)
    user_ids = [
        shop.user(f"p{i}", is_admin=world.admins[i], unit=None if unit is None else unit_ids[unit])
        for i, unit in enumerate(world.user_units)
    ]
    for index, spec in enumerate(world.roles):
        rules = [
            {"entity": spec["entity"], "operation": op, "scope": spec[op]}
            for op in ("read", "update")
            if spec[op]
        ]
        if spec["note"]:
            rules.append({"entity": "note", "operation": "read", "scope": spec["note"]})
        admin.create_role(f"r{index}")
        admin.set_permissions(f"r{index}", rules)
    for user, role, expiry in world.assignments:
        admin.assign_role(user_ids[user], f"r{role}", expiry_time(expiry))
    for index, members in enumerate(world.team_of):
        admin.create_team(f"t{index}")
        for member in members:
            admin.add_member(f"t{index}", user_ids[member])
    model = shop.runtime.model.entity("deal")
    record_ids = []
    with shop.site.engine.begin() as conn:
        for index, owner in enumerate(world.owners):
            row = {
                "title": f"d{index}",
                "amount": 0,
                "lock_version": 1,
                "created_at": T0,
                "updated_at": T0,
                "owner_id": None if owner is None else user_ids[owner],
            }
            record_ids.append(int(conn.execute(model.table.insert().values(row)).inserted_primary_key[0]))
        for record, kind, grantee, permission, expiry in world.shares:
            conn.execute(
                record_shares.insert().values(
                    entity_id=model.entity.id,
                    record_id=record_ids[record],
                    permission=permission,
                    user_id=user_ids[grantee] if kind == "user" else None,
                    team=f"t{grantee}" if kind == "team" else None,
                    expires_at=expiry_time(expiry),
                    created_at=T0,
                )
            )
    return unit_ids, user_ids, record_ids


@pytest.fixture
def shop(site: Site) -> Shop:
    return make_shop(site)


@settings(
    max_examples=60 if ON_POSTGRES else 250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_users_see_and_change_exactly_what_the_rules_allow(shop: Shop, world: World) -> None:
    """list (paged), get and update agree with the oracle for every user and record."""
    reset(shop)
    unit_ids, user_ids, record_ids = build(shop, world)
    parents = final_parents(world)
    for user, user_id in enumerate(user_ids):
        actor = Actor(user_id, f"p{user}", world.admins[user])
        read = scopes(world, user, "deal", "read")
        update = scopes(world, user, "deal", "update")
        if world.admins[user]:
            visible = set(range(len(record_ids)))
            writable = set(visible)
        else:
            visible = {
                r
                for r, owner in enumerate(world.owners)
                if read
                and (
                    owner_allowed(world, parents, user, read, owner)
                    or shared(world, user, r, ("read", "write"))
                )
            }
            writable = {
                r
                for r in visible
                if update
                and (
                    owner_allowed(world, parents, user, update, world.owners[r])
                    or shared(world, user, r, ("write",))
                )
            }
        can_read = world.admins[user] or bool(read)
        # list, three rows a page, following the cursor
        if can_read:
            seen: list[int] = []
            query = ListQuery(sort="-id", limit=3)
            while True:
                page = shop.runtime.list("deal", query, actor)
                seen += [item["id"] for item in page.items]
                if not page.has_more:
                    break
                query = ListQuery(sort="-id", limit=3, cursor=page.next_cursor)
            assert sorted(seen) == sorted(record_ids[r] for r in visible)
            assert len(seen) == len(set(seen))
        else:
            with pytest.raises(AccessDenied):
                shop.runtime.list("deal", ListQuery(), actor)
        # global search over deals and notes finds exactly the visible deals ("d<n>" titles), never more
        found = search_entities(shop.runtime, ["deal", "note"], "d", actor, per_entity=len(record_ids) + 1)
        hits = {h.entity: [item["id"] for item in h.items] for h in found}
        assert sorted(hits.get("deal", [])) == sorted(record_ids[r] for r in visible)
        assert "note" not in hits
        for r, record_id in enumerate(record_ids):
            if not can_read:
                with pytest.raises(AccessDenied):
                    shop.runtime.get("deal", record_id, actor)
                continue
            if r not in visible:
                with pytest.raises(NotFound):
                    shop.runtime.get("deal", record_id, actor)
                with pytest.raises(NotFound):
                    shop.runtime.update("deal", record_id, {"amount": 1}, actor)
                continue
            assert shop.runtime.get("deal", record_id, actor)["id"] == record_id
            if r in writable:
                assert shop.runtime.update("deal", record_id, {"amount": user}, actor)["amount"] == user
            else:
                with pytest.raises(AccessDenied):
                    shop.runtime.update("deal", record_id, {"amount": 1}, actor)
        # note permissions never open deals, and deals never open notes
        note_scopes = scopes(world, user, "note", "read")
        if not world.admins[user] and not note_scopes:
            with pytest.raises(AccessDenied):
                shop.runtime.list("note", ListQuery(), actor)
    # the closure table holds exactly the (ancestor, descendant) pairs of the final tree
    with shop.site.engine.connect() as conn:
        rows = conn.execute(sa.select(org_unit_tree.c.ancestor_id, org_unit_tree.c.descendant_id)).all()
    pairs = {(int(a), int(d)) for a, d in rows}
    expected = {(unit_ids[a], unit_ids[d]) for d in range(len(parents)) for a in ancestors(parents, d)}
    assert pairs == expected
