"""Property test of field-level security: over random roles, field rules, users and contacts, list,
get, search, filters, updates and the export path never give a user a value her rules hide or mask,
and show every value they leave open, as a plain Python model of the rules says."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metamodel.access import AccessDenied
from metamodel.access.enforcement import permitted_ids
from metamodel.access.masks import MaskStyles
from metamodel.access.reveal import reveal
from metamodel.records.globalsearch import search_entities
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.systables import (
    field_permissions,
    role_permissions,
    roles,
    user_role_expiry,
    user_roles,
    users,
)
from tests.metamodel.access.accesssupport import Shop, make_shop
from tests.metamodel.mmsupport import T0, Site

ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE", "sqlite").strip().lower() == "postgresql"
FIELDS = ("name", "phone", "email", "id_no")
RANK = {"hidden": 0, "masked": 1, "readonly": 2, "full": 3}
STYLES = MaskStyles.default()
LEVEL = st.sampled_from([None, None, "hidden", "masked", "readonly"])
MASK = st.sampled_from([None, None, "default", "name", "phone"])
# What a role grants on contacts: on contacts, on every entity, or only on deals (nothing about contacts).
GRANT = st.sampled_from(["contact", "contact", "*", "deal"])


@dataclass
class Role:
    grant: str  # contact | * | deal
    update: bool
    rules: dict[str, tuple[str, str | None, bool]]  # field -> (level, mask, reveal)


@dataclass
class World:
    roles: list[Role]
    admins: list[bool]
    assignments: list[tuple[int, int, str | None]]  # (user, role, expiry: None | past | future)
    contacts: list[dict[str, str]]


@st.composite
def worlds(draw: Any) -> World:
    role_list = []
    for _ in range(draw(st.integers(1, 3))):
        rules = {}
        for name in FIELDS:
            level = draw(LEVEL)
            if level is not None:
                rules[name] = (level, draw(MASK) if level == "masked" else None, draw(st.booleans()))
        role_list.append(Role(draw(GRANT), draw(st.booleans()), rules))
    n_users = draw(st.integers(1, 4))
    admins = [draw(st.integers(0, 9)) == 0 for _ in range(n_users)]
    held = st.sampled_from(["no", None, None, "past", "future"])
    assignments = [
        (u, r, e) for u in range(n_users) for r in range(len(role_list)) if (e := draw(held)) != "no"
    ]
    contacts = []
    for index in range(draw(st.integers(1, 4))):
        # Distinct, recognisable values: a leak of any of them shows up as a substring.
        d = [draw(st.integers(10_000_000, 99_999_999)) for _ in FIELDS]
        contacts.append(
            {
                "name": f"Zed{index}q{d[0]}",
                "phone": f"+86139{d[1]}",
                "email": f"u{index}x{d[2]}@mail{index}.com",
                "id_no": f"4401{d[3]}{index:02d}77X",
            }
        )
    return World(role_list, admins, assignments, contacts)


# --- the oracle -------------------------------------------------------------------------------------
def held_roles(world: World, user: int) -> list[int]:
    return sorted({r for u, r, expiry in world.assignments if u == user and expiry != "past"})


def can_read(world: World, user: int) -> bool:
    return world.admins[user] or any(
        world.roles[r].grant in ("contact", "*") for r in held_roles(world, user)
    )


def can_update(world: World, user: int) -> bool:
    return world.admins[user] or any(
        world.roles[r].grant in ("contact", "*") and world.roles[r].update for r in held_roles(world, user)
    )


def access(world: World, user: int, name: str) -> tuple[str, bool]:
    """(level, may reveal) of a field for a user: the most permissive of the roles that speak about contacts."""
    if world.admins[user]:
        return "full", False
    held = held_roles(world, user)
    ruled = [r for r in held if name in world.roles[r].rules]
    if not ruled:
        return "full", False
    deciding = [r for r in held if world.roles[r].grant in ("contact", "*")] or ruled
    levels = [world.roles[r].rules[name][0] if name in world.roles[r].rules else "full" for r in deciding]
    best = max(levels, key=RANK.__getitem__)
    return best, any(world.roles[r].rules[name][2] for r in ruled)


# --- building ---------------------------------------------------------------------------------------
def reset(shop: Shop) -> None:
    contact = shop.runtime.model.entity("contact").table
    with shop.site.engine.begin() as conn:
        for table in (
            field_permissions,
            user_role_expiry,
            user_roles,
            role_permissions,
            roles,
            contact,
            users,
        ):
            conn.execute(table.delete())
    shop.names.clear()
    shop.admins.clear()


def build(shop: Shop, world: World) -> tuple[list[int], list[int]]:
    for index, spec in enumerate(world.roles):
        operations = ["read", "export"] + (["update"] if spec.update else [])
        shop.role(f"r{index}", *[(spec.grant, op, "all") for op in operations])
        shop.field_rules(f"r{index}", *[("contact", name, *rule) for name, rule in spec.rules.items()])
    user_ids = [shop.user(f"p{i}", is_admin=world.admins[i]) for i in range(len(world.admins))]
    for user, role, expiry in world.assignments:
        when = None if expiry is None else T0 + dt.timedelta(days=-1 if expiry == "past" else 1)
        shop.admin.assign_role(user_ids[user], f"r{role}", when)
    record_ids = [int(shop.runtime.create("contact", values)["id"]) for values in world.contacts]
    return user_ids, record_ids


@pytest.fixture
def shop(site: Site) -> Shop:
    return make_shop(site)


def check_record(world: World, user: int, shown: dict[str, Any], clear: dict[str, str], model: Any) -> None:
    """The record as the user got it holds exactly what her rules allow."""
    text = json.dumps(shown, ensure_ascii=False)
    for name in FIELDS:
        level, _ = access(world, user, name)
        if level == "hidden":
            assert name not in shown, (name, level)
        elif level == "masked":
            assert shown[name] != clear[name]
            masks = {
                STYLES.apply(model.fields[name], clear[name], role.rules[name][1])
                for role in world.roles
                if name in role.rules
            }
            masks.add(STYLES.apply(model.fields[name], clear[name]))
            assert shown[name] in masks, (name, shown[name])
        else:
            assert shown[name] == clear[name], (name, level)
        if level in ("hidden", "masked"):
            # The clear value appears nowhere: not in another field, not in a link title.
            assert clear[name] not in text, (name, level)


@settings(
    max_examples=50 if ON_POSTGRES else 200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_field_rules_never_leak_a_value(shop: Shop, world: World) -> None:
    """list, get, search, filters, sorts, updates, reveal and the export path agree with the oracle."""
    reset(shop)
    user_ids, record_ids = build(shop, world)
    model = shop.runtime.model.entity("contact")
    runtime = shop.runtime
    for user, user_id in enumerate(user_ids):
        actor = Actor(user_id, f"p{user}", world.admins[user])
        if not can_read(world, user):
            with pytest.raises(AccessDenied):
                runtime.list("contact", ListQuery(), actor)
            assert search_entities(runtime, ["contact"], "Zed", actor) == []
            continue
        levels = {name: access(world, user, name) for name in FIELDS}
        unseen = {name for name, (level, _) in levels.items() if level in ("hidden", "masked")}
        items = runtime.list("contact", ListQuery(sort="id", limit=500), actor).items
        assert [item["id"] for item in items] == record_ids
        for item, clear in zip(items, world.contacts, strict=True):
            check_record(world, user, item, clear, model)
        for record_id, clear in zip(record_ids, world.contacts, strict=True):
            check_record(world, user, runtime.get("contact", record_id, actor), clear, model)
        # export: the rows it writes are list pages, cut to the export scope
        with shop.site.engine.connect() as conn:
            resolved = runtime.resolve(actor, conn)
            assert permitted_ids(conn, model, resolved, "export", record_ids) == set(record_ids)
        # search finds a record by a value only when that value is open to her
        for name in FIELDS:
            for record_id, clear in zip(record_ids, world.contacts, strict=True):
                token = clear[name][5:13]
                found = [i["id"] for i in runtime.list("contact", ListQuery(search=token), actor).items]
                # found exactly when the token is in one of the record's values open to her
                expected = any(token in clear[other] for other in FIELDS if other not in unseen)
                assert (record_id in found) == expected, (name, levels[name])
                # global search agrees, and what it returns holds no value masked or hidden from her
                hits = search_entities(runtime, ["contact"], token, actor, per_entity=500)
                everywhere = [item for h in hits for item in h.items]
                assert (record_id in [i["id"] for i in everywhere]) == expected, (name, levels[name])
                for item in everywhere:
                    check_record(world, user, item, world.contacts[record_ids.index(item["id"])], model)
            query = ListQuery(filters=[Filter(name, "eq", world.contacts[0][name])])
            if name in unseen:
                with pytest.raises(AccessDenied):
                    runtime.list("contact", query, actor)
                with pytest.raises(AccessDenied):
                    runtime.list("contact", ListQuery(sort=f"-{name}"), actor)
            else:
                same = {
                    rid
                    for rid, c in zip(record_ids, world.contacts, strict=True)
                    if c[name] == world.contacts[0][name]
                }
                assert {i["id"] for i in runtime.list("contact", query, actor).items} == same
        # writes: only fields at full access change; an unchanged echo of what she sees passes
        if can_update(world, user):
            shown = runtime.get("contact", record_ids[0], actor)
            echo = {name: shown[name] for name in FIELDS if name in shown}
            runtime.update("contact", record_ids[0], echo, actor)
            for name in FIELDS:
                change = {
                    name: "+8613700000000" if name == "phone" else ("a@b.cn" if name == "email" else "New")
                }
                if levels[name][0] == "full":
                    runtime.update("contact", record_ids[0], change, actor)
                    runtime.update("contact", record_ids[0], {name: world.contacts[0][name]})
                else:
                    with pytest.raises(AccessDenied):
                        runtime.update("contact", record_ids[0], change, actor)
            stored = runtime.get("contact", record_ids[0])
            assert {name: stored[name] for name in FIELDS} == world.contacts[0]
        # reveal: exactly the restricted fields she holds a reveal rule for
        for name in sorted(unseen):
            if levels[name][1]:
                assert reveal(runtime, "contact", record_ids[0], [name], actor) == {
                    name: world.contacts[0][name]
                }
            else:
                with pytest.raises(AccessDenied):
                    reveal(runtime, "contact", record_ids[0], [name], actor)
