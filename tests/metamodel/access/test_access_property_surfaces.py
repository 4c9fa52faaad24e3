"""Property test of the list view's new surfaces: over the same random worlds as
test_access_property, a bulk "set a field" changes exactly the records the user may update (refusing
the others one by one) and an export yields exactly the records the user may export."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from crm_platform.listing import bulk
from crm_platform.listing.export import authorize, record_pages
from metamodel.access import AccessDenied
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from tests.metamodel.access.accesssupport import Shop, make_shop
from tests.metamodel.access.test_access_property import (
    ON_POSTGRES,
    World,
    build,
    final_parents,
    owner_allowed,
    reset,
    scopes,
    shared,
    worlds,
)
from tests.metamodel.mmsupport import Site


@pytest.fixture
def shop(site: Site) -> Shop:
    return make_shop(site)


def grant_export(shop: Shop, world: World) -> None:
    """Give every role the export scope equal to its read scope (shares open exports like reads)."""
    for index, spec in enumerate(world.roles):
        rules = [
            {"entity": spec["entity"], "operation": op, "scope": spec[source]}
            for op, source in (("read", "read"), ("update", "update"), ("export", "read"))
            if spec[source]
        ]
        if spec["note"]:
            rules.append({"entity": "note", "operation": "read", "scope": spec["note"]})
        shop.admin.set_permissions(f"r{index}", rules)


@settings(
    max_examples=15 if ON_POSTGRES else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_bulk_set_and_export_follow_the_row_scopes(shop: Shop, world: World) -> None:
    """Bulk set and export agree with the oracle of test_access_property for every user."""
    reset(shop)
    _units, user_ids, record_ids = build(shop, world)
    grant_export(shop, world)
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
        if not (world.admins[user] or read):
            with pytest.raises(AccessDenied):
                authorize(shop.runtime, "deal", actor)
            continue
        who = authorize(shop.runtime, "deal", actor)
        exported = [
            item["id"]
            for page in record_pages(shop.runtime, "deal", ListQuery(sort="-id"), who)
            for item in page
        ]
        assert sorted(exported) == sorted(record_ids[r] for r in visible)
        chosen = record_ids[::2]
        assert sorted(
            i
            for page in record_pages(shop.runtime, "deal", ListQuery(), who, set(chosen))
            for i in (x["id"] for x in page)
        ) == sorted(record_ids[r] for r in visible if record_ids[r] in chosen)
        result = bulk.set_field(shop.runtime, "deal", record_ids, "amount", [str(user)], actor)
        assert sorted(result.done) == sorted(record_ids[r] for r in writable)
        assert sorted(rid for rid, _why in result.refused) == sorted(
            record_ids[r] for r in range(len(record_ids)) if r not in writable
        )
        for r in writable:
            assert shop.runtime.get("deal", record_ids[r])["amount"] == user
