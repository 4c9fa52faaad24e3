"""Row scopes by a record's own org unit field: a region manager sees her region's jobs whoever owns them."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.access import AccessDenied
from metamodel.access.admin import AccessAdmin
from metamodel.access.enforcement import install_access_control
from metamodel.access.fieldsecurity import install_field_security
from metamodel.errors import MetadataInvalid, NotFound
from metamodel.records.hooks import RecordHooks
from metamodel.records.query import ListQuery
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.access.accesssupport import Shop
from tests.metamodel.mmsupport import Site, entity, select_field

UNITS = ("hq", "north", "south", "n1", "n2", "s1")


def job_entity(**extra: Any) -> dict[str, Any]:
    """A work-order-like entity whose ``site`` select names the org unit it belongs to."""
    return entity(
        "job",
        [{"name": "title", "type": "text", "required": True}, select_field("site", UNITS)],
        title_field="title",
        **extra,
    )


@pytest.fixture
def shop(site: Site) -> Any:
    """HQ -> north (n1, n2), south (s1); a region manager of north, engineers of every store."""
    site.publish([job_entity(org_unit_field="site")])
    hooks = install_access_control(RecordHooks())
    install_field_security(hooks)
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    shop: Any = Shop(site, AccessAdmin(site.engine, clock=site.clock), runtime)
    admin = shop.admin
    hq = admin.create_unit("hq")["id"]
    units = {
        "hq": hq,
        "north": admin.create_unit("north", hq)["id"],
        "south": admin.create_unit("south", hq)["id"],
    }
    units["n1"] = admin.create_unit("n1", units["north"])["id"]
    units["n2"] = admin.create_unit("n2", units["north"])["id"]
    units["s1"] = admin.create_unit("s1", units["south"])["id"]
    shop.units = units
    crud = ("read", "create", "update", "delete")
    shop.role("region", *[("job", op, "org_subtree") for op in crud])
    shop.role("store", *[("job", op, "org_unit") for op in crud])
    shop.role("engineer", *[("job", op, "own") for op in crud])
    shop.rita = shop.user("rita", unit=units["north"], roles=("region",))
    shop.ann = shop.user("ann", unit=units["n1"], roles=("store",))
    shop.sue = shop.user("sue", unit=units["s1"], roles=("engineer",))
    shop.sam = shop.user("sam", unit=units["n1"], roles=("engineer",))
    return shop


def job(shop: Any, title: str, owner: int | None, site: str | None) -> int:
    """Create a job as the system."""
    values: dict[str, Any] = {"title": title, "site": site}
    if owner is not None:
        values["owner_id"] = owner
    return int(shop.runtime.create("job", values)["id"])


def titles(shop: Any, user: int) -> list[str]:
    """The titles a user's list shows, by id."""
    page = shop.runtime.list("job", ListQuery(sort="id", limit=100), shop.actor(user))
    return [item["title"] for item in page.items]


def test_region_manager_sees_her_regions_jobs_whoever_owns_them(shop: Any) -> None:
    """A job at store n1 owned by a south engineer is north's; a job without a site follows its owner."""
    at_n1 = job(shop, "n1 by sue", shop.sue, "n1")
    job(shop, "s1 by sam", shop.sam, "s1")
    job(shop, "unplaced by sam", shop.sam, None)
    job(shop, "unplaced by sue", shop.sue, None)
    assert titles(shop, shop.rita) == ["n1 by sue", "unplaced by sam"]
    assert titles(shop, shop.ann) == ["n1 by sue", "unplaced by sam"]
    # own stays owner-based: sue sees what she owns wherever it is
    assert titles(shop, shop.sue) == ["n1 by sue", "unplaced by sue"]
    assert shop.runtime.get("job", at_n1, shop.actor(shop.rita))["title"] == "n1 by sue"
    updated = shop.runtime.update("job", at_n1, {"title": "n1 fixed"}, shop.actor(shop.ann))
    assert updated["title"] == "n1 fixed"


def test_moving_a_job_follows_its_site(shop: Any) -> None:
    """Moving a job to s1 takes it out of north's scope; north may not place jobs outside north."""
    moved = job(shop, "moving", shop.sam, "n2")
    rita = shop.actor(shop.rita)
    assert titles(shop, shop.rita) == ["moving"]
    with pytest.raises(AccessDenied, match="org unit 's1'"):
        shop.runtime.update("job", moved, {"site": "s1"}, rita)
    with pytest.raises(AccessDenied, match="org unit 's1'"):
        shop.runtime.create("job", {"title": "elsewhere", "site": "s1"}, rita)
    shop.runtime.update("job", moved, {"site": "s1"})  # the system moves it
    assert titles(shop, shop.rita) == []
    with pytest.raises(NotFound):
        shop.runtime.get("job", moved, rita)


def test_region_manager_may_hand_a_regional_job_to_anyone(shop: Any) -> None:
    """Placed in her region, a job may be owned by an engineer of another region (the unit decides)."""
    rita = shop.actor(shop.rita)
    created = shop.runtime.create("job", {"title": "borrowed", "site": "n1", "owner_id": shop.sue}, rita)
    assert created["owner_id"] == shop.sue
    assert titles(shop, shop.rita) == ["borrowed"]
    with pytest.raises(AccessDenied):  # without a site the owner's unit decides, as before
        shop.runtime.create("job", {"title": "unplaced", "owner_id": shop.sue}, rita)


def test_without_the_setting_the_owners_unit_decides(site: Site) -> None:
    """The default is unchanged: a job at n1 owned by a south engineer is not north's."""
    site.publish([job_entity()])
    hooks = install_access_control(RecordHooks())
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    shop: Any = Shop(site, AccessAdmin(site.engine, clock=site.clock), runtime)
    north = shop.admin.create_unit("north")["id"]
    south = shop.admin.create_unit("south")["id"]
    shop.role("region", ("job", "read", "org_subtree"))
    rita = shop.user("rita", unit=north, roles=("region",))
    sue = shop.user("sue", unit=south)
    job(shop, "at north by sue", sue, "north")
    assert titles(shop, rita) == []


@pytest.mark.parametrize(
    ("setting", "fields", "message"),
    [
        ("nowhere", [], "unknown field 'nowhere'"),
        ("size", [{"name": "size", "type": "integer"}], "must be select or text"),
        ("code", [{"name": "code", "type": "text", "rules": {"formula": "title"}}], "is computed"),
    ],
)
def test_a_bad_org_unit_field_is_refused(site: Site, setting: str, fields: list[Any], message: str) -> None:
    """The setting must name an entered text or select field."""
    doc = job_entity(org_unit_field=setting)
    doc["fields"] += fields
    with pytest.raises(MetadataInvalid) as caught:
        site.publish([doc])
    found = [p for p in caught.value.problems if p.path == "entity.job.org_unit_field"]
    assert found and message in found[0].message
