"""Links point only at records the acting user may read (issue 14, safety 1)."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.access import AccessAdmin, install_access_control
from metamodel.access.fieldsecurity import install_field_security
from metamodel.errors import RecordInvalid
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.access.accesssupport import CONTACT, DEAL, NOTE, Shop
from tests.metamodel.mmsupport import Site, entity

BASKET = entity(
    "basket",
    [
        {"name": "ref", "type": "text", "required": True},
        {"name": "lines", "type": "child_table", "child_entity": "basket_line"},
    ],
    title_field="ref",
)
BASKET_LINE = entity("basket_line", [{"name": "deal", "type": "link", "target": "deal"}], is_child=True)
CRUD = ("read", "create", "update", "delete")


@pytest.fixture
def shop(site: Site) -> Any:
    """Two stores; sam (store n1) and sue (store s1) each see their own store's deals only."""
    site.publish([DEAL, NOTE, CONTACT, BASKET, BASKET_LINE])
    hooks = install_access_control(RecordHooks())
    install_field_security(hooks)
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    shop: Any = Shop(site, AccessAdmin(site.engine, clock=site.clock), runtime)
    n1 = shop.admin.create_unit("n1")["id"]
    s1 = shop.admin.create_unit("s1")["id"]
    perms = [("deal", op, "org_unit") for op in CRUD]
    perms += [(name, op, "own") for name in ("contact", "basket") for op in CRUD]
    shop.role("clerk", *perms)
    shop.sam = shop.user("sam", unit=n1, roles=("clerk",))
    shop.sue = shop.user("sue", unit=s1, roles=("clerk",))
    shop.boss = shop.user("boss", is_admin=True)
    shop.d_sam = shop.deal("n1 deal", shop.sam)
    shop.d_sue = shop.deal("s1 secret deal", shop.sue)
    return shop


def _refused(error: RecordInvalid, field: str) -> None:
    assert [p.path for p in error.problems] == [field]
    assert "secret" not in str(error) + repr([p.as_dict() for p in error.problems])


def test_a_link_to_a_record_the_user_cannot_read_is_refused_without_its_title(shop: Any) -> None:
    sam = shop.actor(shop.sam)
    with pytest.raises(RecordInvalid) as caught:
        shop.runtime.create("contact", {"name": "Kim", "deal": shop.d_sue}, sam)
    _refused(caught.value, "deal")
    problem = caught.value.problems[0]
    assert problem.code == "reference"
    # The same answer as for a record that does not exist: nothing tells the hidden record is there.
    with pytest.raises(RecordInvalid) as missing:
        shop.runtime.create("contact", {"name": "Kim", "deal": 99999}, sam)
    assert missing.value.problems[0].message == problem.message.replace(str(shop.d_sue), "99999")
    made = shop.runtime.create("contact", {"name": "Kim", "deal": shop.d_sam}, sam)
    assert made["_titles"]["deal"] == "n1 deal"


def test_an_update_may_not_point_a_link_at_a_hidden_record(shop: Any) -> None:
    sam = shop.actor(shop.sam)
    made = shop.runtime.create("contact", {"name": "Kim", "deal": shop.d_sam}, sam)
    with pytest.raises(RecordInvalid) as caught:
        shop.runtime.update("contact", made["id"], {"deal": shop.d_sue}, sam)
    _refused(caught.value, "deal")
    assert shop.runtime.get("contact", made["id"], sam)["deal"] == shop.d_sam


def test_a_link_set_by_someone_who_may_see_it_survives_other_edits(shop: Any) -> None:
    boss, sam = shop.actor(shop.boss), shop.actor(shop.sam)
    made = shop.runtime.create("contact", {"name": "Kim", "deal": shop.d_sue, "owner_id": shop.sam}, boss)
    updated = shop.runtime.update("contact", made["id"], {"name": "Kim Lee", "deal": shop.d_sue}, sam)
    assert updated["name"] == "Kim Lee" and updated["deal"] == shop.d_sue


def test_child_lines_may_not_link_hidden_records(shop: Any) -> None:
    sam = shop.actor(shop.sam)
    with pytest.raises(RecordInvalid) as caught:
        shop.runtime.create("basket", {"ref": "o1", "lines": [{"deal": shop.d_sue}]}, sam)
    _refused(caught.value, "lines[0].deal")
    made = shop.runtime.create("basket", {"ref": "o1", "lines": [{"deal": shop.d_sam}]}, sam)
    line = made["lines"][0]
    with pytest.raises(RecordInvalid):
        shop.runtime.update("basket", made["id"], {"lines": [{"id": line["id"], "deal": shop.d_sue}]}, sam)


def test_the_system_and_administrators_link_any_record(shop: Any) -> None:
    assert shop.runtime.create("contact", {"name": "A", "deal": shop.d_sue})["deal"] == shop.d_sue
    boss = shop.actor(shop.boss)
    assert shop.runtime.create("contact", {"name": "B", "deal": shop.d_sue}, boss)["deal"] == shop.d_sue
