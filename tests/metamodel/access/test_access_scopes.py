"""Role permissions, row scopes over an org tree, and shares, as the record runtime enforces them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from metamodel.access import AccessDenied
from metamodel.errors import NotFound
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.systables import record_shares
from tests.metamodel.access.accesssupport import Shop, make_shop
from tests.metamodel.mmsupport import Site

CRUD = ("read", "create", "update", "delete")


def perms(entity: str, scope: str, operations: tuple[str, ...] = CRUD) -> list[tuple[str, str, str]]:
    return [(entity, op, scope) for op in operations]


@pytest.fixture
def shop(site: Site) -> Shop:
    """HQ -> north (stores n1, n2) and south (store s1); managers, a region head, sales people, deals."""
    shop = make_shop(site)
    admin = shop.admin
    hq = admin.create_unit("hq")["id"]
    north = admin.create_unit("north", hq)["id"]
    south = admin.create_unit("south", hq)["id"]
    n1 = admin.create_unit("n1", north)["id"]
    n2 = admin.create_unit("n2", north)["id"]
    s1 = admin.create_unit("s1", south)["id"]
    shop.role("store_manager", *perms("deal", "org_unit"))
    shop.role("region_manager", *perms("deal", "org_subtree"))
    shop.role("sales", *perms("deal", "own"))
    shop.units = {"hq": hq, "north": north, "south": south, "n1": n1, "n2": n2, "s1": s1}  # type: ignore[attr-defined]
    shop.ann = shop.user("ann", unit=n1, roles=("store_manager",))  # type: ignore[attr-defined]
    shop.nora = shop.user("nora", unit=n2, roles=("store_manager",))  # type: ignore[attr-defined]
    shop.rita = shop.user("rita", unit=north, roles=("region_manager",))  # type: ignore[attr-defined]
    shop.sam = shop.user("sam", unit=n1, roles=("sales",))  # type: ignore[attr-defined]
    shop.sue = shop.user("sue", unit=s1, roles=("sales",))  # type: ignore[attr-defined]
    shop.boss = shop.user("boss", is_admin=True)  # type: ignore[attr-defined]
    s: Any = shop
    s.d_ann = shop.deal("n1 ann", s.ann, 10)
    s.d_sam = shop.deal("n1 sam", s.sam, 20)
    s.d_nora = shop.deal("n2 nora", s.nora, 30)
    s.d_rita = shop.deal("north rita", s.rita, 40)
    s.d_sue = shop.deal("s1 sue", s.sue, 50)
    s.d_none = shop.deal("nobody", None, 60)
    return shop


ALL_TITLES = ["n1 ann", "n1 sam", "n2 nora", "north rita", "s1 sue", "nobody"]


def test_store_manager_sees_only_her_store_in_list_get_and_search(shop: Any) -> None:
    """Ann (store n1) lists, gets and searches only the deals owned by people of n1."""
    assert shop.titles(shop.ann) == ["n1 ann", "n1 sam"]
    assert shop.titles(shop.ann, search="n2") == []
    assert shop.titles(shop.ann, search="sam") == ["n1 sam"]
    assert shop.titles(shop.ann, filters=[Filter("amount", "gte", 15)]) == ["n1 sam"]
    page = shop.runtime.list("deal", ListQuery(count=True, limit=1, sort="-amount"), shop.actor(shop.ann))
    assert [i["title"] for i in page.items] == ["n1 sam"] and page.total == 2 and page.has_more
    assert shop.runtime.get("deal", shop.d_sam, shop.actor(shop.ann))["title"] == "n1 sam"


def test_region_manager_sees_every_store_below(shop: Any) -> None:
    """Rita (north) sees north's own records and those of stores n1 and n2, not south's."""
    assert shop.titles(shop.rita) == ["n1 ann", "n1 sam", "n2 nora", "north rita"]
    assert shop.runtime.get("deal", shop.d_nora, shop.actor(shop.rita))["title"] == "n2 nora"


def test_guessing_another_stores_id_is_not_found(shop: Any) -> None:
    """Get, update and delete of a record outside the scope answer 404, and change nothing."""
    ann = shop.actor(shop.ann)
    with pytest.raises(NotFound):
        shop.runtime.get("deal", shop.d_nora, ann)
    with pytest.raises(NotFound):
        shop.runtime.update("deal", shop.d_nora, {"title": "hijacked"}, ann)
    with pytest.raises(NotFound):
        shop.runtime.delete("deal", shop.d_sue, ann)
    assert shop.titles(None) == ALL_TITLES


def test_own_scope(shop: Any) -> None:
    """Sam sees and changes only his own deals, though his manager's deal is in his store."""
    sam = shop.actor(shop.sam)
    assert shop.titles(shop.sam) == ["n1 sam"]
    with pytest.raises(NotFound):
        shop.runtime.get("deal", shop.d_ann, sam)
    assert shop.runtime.update("deal", shop.d_sam, {"amount": 21}, sam)["amount"] == 21
    created = shop.runtime.create("deal", {"title": "new"}, sam)
    assert created["owner_id"] == shop.sam
    with pytest.raises(AccessDenied):
        shop.runtime.create("deal", {"title": "for ann", "owner_id": shop.ann}, sam)
    shop.runtime.delete("deal", created["id"], sam)
    assert shop.titles(shop.sam) == ["n1 sam"]


def test_permissions_are_the_union_of_roles(shop: Any) -> None:
    """Sue (own, store s1) also made inspector (read all notes, read n-subtree deals) sees the union."""
    shop.role("inspector", ("deal", "read", "org_subtree"), ("note", "read", "all"))
    shop.admin.set_user_unit(shop.sue, shop.units["south"])
    shop.admin.assign_role(shop.sue, "inspector")
    # own (s1 sue) + south's subtree (s1 sue again) — and sue now sits in south, her own deal still hers
    assert shop.titles(shop.sue) == ["s1 sue"]
    shop.admin.set_user_unit(shop.sue, shop.units["north"])
    assert shop.titles(shop.sue) == ["n1 ann", "n1 sam", "n2 nora", "north rita", "s1 sue"]
    shop.deal("a note", None, entity_name="note")
    assert shop.titles(shop.sue, "note") == ["a note"]
    # the inspector role reads but does not write: update comes from 'sales' (own) only
    with pytest.raises(AccessDenied) as caught:
        shop.runtime.update("deal", shop.d_ann, {"amount": 1}, shop.actor(shop.sue))
    assert (caught.value.status, caught.value.code, caught.value.operation) == (
        403,
        "permission_denied",
        "update",
    )


def test_denied_operations_name_entity_and_operation(shop: Any) -> None:
    """No permission for an operation: 403 permission_denied naming entity and operation."""
    sam = shop.actor(shop.sam)
    with pytest.raises(AccessDenied) as caught:
        shop.runtime.list("note", ListQuery(), sam)
    error = caught.value
    assert error.status == 403 and error.code == "permission_denied"
    assert error.as_dict()["entity"] == "note" and error.as_dict()["operation"] == "read"
    assert "note" in error.message and "read" in error.message
    with pytest.raises(AccessDenied, match="create note"):
        shop.runtime.create("note", {"text": "x"}, sam)
    shop.admin.revoke("sales", "deal", "delete")
    with pytest.raises(AccessDenied, match="delete deal"):
        shop.runtime.delete("deal", shop.d_sam, sam)
    no_roles = shop.user("nobody_user", unit=shop.units["n1"])
    with pytest.raises(AccessDenied):
        shop.titles(no_roles)
    with pytest.raises(AccessDenied):
        shop.runtime.get("deal", shop.d_ann, shop.actor(no_roles))


def test_system_actor_and_administrators_bypass(shop: Any) -> None:
    """The system actor (rule actions, scheduler) and administrators see and change everything."""
    assert shop.titles(None) == ALL_TITLES
    assert shop.titles(shop.boss) == ALL_TITLES
    boss = Actor(shop.boss, "boss", is_admin=True)
    assert shop.runtime.update("deal", shop.d_sue, {"amount": 1}, boss)["amount"] == 1
    shop.runtime.delete("deal", shop.d_none, Actor())
    shop.runtime.create("note", {"text": "sys"})


def test_without_any_permission_set_access_is_not_enforced(site: Site) -> None:
    """A site that never configured permissions keeps the old behaviour: users see every record."""
    shop = make_shop(site)
    ann, bob = shop.user("ann"), shop.user("bob")
    shop.deal("bob's", bob)
    assert shop.titles(ann) == ["bob's"]
    shop.runtime.update("deal", 1, {"amount": 3}, shop.actor(ann))
    shop.admin.create_role("viewer")
    shop.admin.grant("viewer", "deal", "read", "own")
    assert shop.admin.enforced()
    with pytest.raises(AccessDenied):
        shop.titles(ann)
    shop.admin.set_enforced(False)
    assert shop.titles(ann) == ["bob's"]


def test_sharing_with_a_user_read_and_write(shop: Any) -> None:
    """A read share shows a record outside the scope; only a write share lets her change it."""
    sam = shop.actor(shop.sam)
    share = shop.admin.share(
        shop.runtime.model.entity("deal"), shop.d_sue, user_id=shop.sam, permission="read"
    )
    assert shop.titles(shop.sam) == ["n1 sam", "s1 sue"]
    assert shop.runtime.get("deal", shop.d_sue, sam)["title"] == "s1 sue"
    with pytest.raises(AccessDenied):
        shop.runtime.update("deal", shop.d_sue, {"amount": 1}, sam)
    shop.admin.share(shop.runtime.model.entity("deal"), shop.d_sue, user_id=shop.sam, permission="write")
    assert shop.runtime.update("deal", shop.d_sue, {"amount": 1}, sam)["amount"] == 1
    with pytest.raises(AccessDenied):  # shares never grant delete
        shop.runtime.delete("deal", shop.d_sue, sam)
    for found in shop.admin.shares(shop.runtime.model.entity("deal"), shop.d_sue):
        shop.admin.unshare(found["id"])
    assert share["permission"] == "read"
    with pytest.raises(NotFound):
        shop.runtime.get("deal", shop.d_sue, sam)


def test_sharing_with_a_team(shop: Any) -> None:
    """A share with a team reaches its members, and stops when one leaves the team."""
    shop.admin.create_team("tiger")
    shop.admin.add_member("tiger", shop.ann)
    shop.admin.share(shop.runtime.model.entity("deal"), shop.d_sue, team="tiger", permission="write")
    assert shop.titles(shop.ann) == ["n1 ann", "n1 sam", "s1 sue"]
    assert shop.runtime.update("deal", shop.d_sue, {"amount": 7}, shop.actor(shop.ann))["amount"] == 7
    assert shop.titles(shop.nora) == ["n2 nora"]
    shop.admin.remove_member("tiger", shop.ann)
    assert shop.titles(shop.ann) == ["n1 ann", "n1 sam"]


def test_expired_shares_and_role_grants_no_longer_count(shop: Any) -> None:
    """Shares and role assignments with expires_at in the past give nothing."""
    deal = shop.runtime.model.entity("deal")
    shop.admin.share(deal, shop.d_sue, user_id=shop.sam, expires_at=shop.tomorrow())
    shop.admin.assign_role(shop.sam, "store_manager", expires_at=shop.tomorrow())
    assert shop.titles(shop.sam) == ["n1 ann", "n1 sam", "s1 sue"]
    shop.site.clock.now += dt.timedelta(days=2)
    assert shop.titles(shop.sam) == ["n1 sam"]
    assert shop.admin.user_access(shop.sam)["roles"][1]["role"] == "store_manager"


def test_creating_and_handing_over_stays_inside_the_scope(shop: Any) -> None:
    """A store manager creates for, and hands records to, people of her store only."""
    ann = shop.actor(shop.ann)
    made = shop.runtime.create("deal", {"title": "for sam", "owner_id": shop.sam}, ann)
    assert made["owner_id"] == shop.sam
    with pytest.raises(AccessDenied):
        shop.runtime.create("deal", {"title": "for nora", "owner_id": shop.nora}, ann)
    with pytest.raises(AccessDenied):
        shop.runtime.update("deal", made["id"], {"owner_id": shop.sue}, ann)
    rita = shop.actor(shop.rita)
    assert shop.runtime.update("deal", made["id"], {"owner_id": shop.nora}, rita)["owner_id"] == shop.nora


def test_moving_a_unit_moves_its_subtree(shop: Any) -> None:
    """Moving store s1 under north puts its records in the region manager's view."""
    shop.admin.update_unit(shop.units["s1"], parent_id=shop.units["north"])
    assert "s1 sue" in shop.titles(shop.rita)
    shop.admin.update_unit(shop.units["north"], parent_id=shop.units["south"])
    south_head = shop.user("sid", unit=shop.units["south"], roles=("region_manager",))
    assert shop.titles(south_head) == ["n1 ann", "n1 sam", "n2 nora", "north rita", "s1 sue"]
    from metamodel.errors import RecordInvalid

    with pytest.raises(RecordInvalid):
        shop.admin.update_unit(shop.units["south"], parent_id=shop.units["n1"])


def test_a_deleted_records_shares_go_with_it(shop: Any) -> None:
    """Deleting a record deletes its shares, so a later record with the same id is not shared."""
    deal = shop.runtime.model.entity("deal")
    shop.admin.share(deal, shop.d_none, user_id=shop.sam)
    shop.runtime.delete("deal", shop.d_none)
    with shop.site.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(record_shares)).scalar() == 0


def test_a_scoped_list_is_one_sql_query_with_the_scope_in_where(shop: Any) -> None:
    """Filters, search, sort, paging and the scope make one SELECT on the record table."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(shop.site.engine, "before_cursor_execute", seen)
    try:
        query = ListQuery(filters=[Filter("amount", "gte", 0)], search="n", sort="-amount", limit=1)
        page = shop.runtime.list("deal", query, shop.actor(shop.rita))
    finally:
        sa.event.remove(shop.site.engine, "before_cursor_execute", seen)
    assert [i["title"] for i in page.items] == ["north rita"]
    on_deals = [s for s in statements if "rec_deal" in s]
    assert len(on_deals) == 1
    assert "sys_org_unit_tree" in on_deals[0] and "sys_record_share" in on_deals[0]


def test_require_checks_operations_outside_the_runtime(shop: Any) -> None:
    """Export, import, transition and configure are checked with ``require`` by the code that runs them."""
    from metamodel.access import require

    shop.admin.grant("store_manager", "deal", "export", "org_unit")
    with shop.site.engine.connect() as conn:
        resolved = require(conn, shop.actor(shop.ann), "deal", "export")
        assert resolved.grants.unit_id == shop.units["n1"]
        with pytest.raises(AccessDenied) as caught:
            require(conn, shop.actor(shop.ann), "deal", "import")
        assert caught.value.as_dict()["operation"] == "import"
        require(conn, Actor(), "deal", "configure")
        require(conn, shop.actor(shop.boss), "deal", "configure")
