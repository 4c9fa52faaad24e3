"""Field-level security in the record runtime: hidden, masked and read-only fields, several roles, reveal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metamodel.access import AccessDenied
from metamodel.access.reveal import reveal
from metamodel.errors import NotFound, RecordInvalid
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.systables import audit_log
from tests.metamodel.access.accesssupport import Shop, make_shop
from tests.metamodel.mmsupport import Site

PHONE, EMAIL, ID_NO = "+8613812341234", "alice@x.com", "110101199003071234"


@pytest.fixture
def shop(site: Site) -> Shop:
    shop = make_shop(site)
    deal = shop.deal("Big deal", None)
    shop.runtime.create(
        "contact", {"name": "Alice Smith", "phone": PHONE, "email": EMAIL, "id_no": ID_NO, "deal": deal}
    )
    everything = [("contact", op, "all") for op in ("read", "create", "update")] + [("deal", "read", "all")]
    shop.role("agent", *everything)
    shop.field_rules(
        "agent",
        ("contact", "phone", "masked"),
        ("contact", "email", "masked", None, True),
        ("contact", "id_no", "hidden"),
        ("contact", "name", "readonly"),
    )
    return shop


def test_hidden_fields_are_removed_and_masked_ones_masked(shop: Shop) -> None:
    agent = shop.actor(shop.user("ann", roles=("agent",)))
    record = shop.runtime.get("contact", 1, agent)
    assert record["phone"] == "+86 138****1234" and record["email"] == "a***@x.com"
    assert "id_no" not in record and record["name"] == "Alice Smith"
    [item] = shop.runtime.list("contact", ListQuery(), agent).items
    assert item["phone"] == "+86 138****1234" and "id_no" not in item
    full = shop.runtime.get("contact", 1)
    assert full["phone"] == PHONE and full["id_no"] == ID_NO
    boss = shop.actor(shop.user("boss", is_admin=True))
    assert shop.runtime.get("contact", 1, boss)["id_no"] == ID_NO


def test_the_most_permissive_role_wins_and_unrelated_roles_do_not_count(shop: Shop) -> None:
    shop.role("viewer", ("contact", "read", "all"))
    shop.field_rules("viewer", ("contact", "phone", "hidden"), ("contact", "id_no", "masked"))
    shop.role("reporting", ("deal", "read", "all"))  # says nothing about contacts
    both = shop.actor(shop.user("bob", roles=("agent", "viewer", "reporting")))
    record = shop.runtime.get("contact", 1, both)
    # phone: masked (agent) beats hidden (viewer); id_no: masked (viewer) beats hidden (agent);
    # email: viewer has no rule, so it is shown in full; name: read-only either way.
    assert record["phone"] == "+86 138****1234"
    assert record["id_no"] == "110****1234"
    assert record["email"] == EMAIL
    shop.field_rules(
        "viewer",
        ("contact", "phone", "hidden"),
        ("contact", "id_no", "hidden"),
        ("contact", "email", "hidden"),
    )
    again = shop.runtime.get("contact", 1, both)
    assert "id_no" not in again and again["email"] == "a***@x.com"


def test_rules_apply_only_while_enforced(shop: Shop) -> None:
    agent = shop.actor(shop.user("ann", roles=("agent",)))
    shop.admin.set_enforced(False)
    assert shop.runtime.get("contact", 1, agent)["id_no"] == ID_NO
    shop.admin.set_enforced(True)
    assert "id_no" not in shop.runtime.get("contact", 1, agent)


def test_link_titles_follow_the_title_field(shop: Shop) -> None:
    shop.role("dealer", ("deal", "read", "all"), ("contact", "read", "all"))
    shop.field_rules("dealer", ("contact", "name", "masked"))
    shop.runtime.create("note", {"text": "n"})
    dealer = shop.actor(shop.user("dan", roles=("dealer",)))
    assert shop.runtime.titles("contact", [1], actor=dealer) == {1: "A***"}
    assert shop.runtime.titles("contact", [1]) == {1: "Alice Smith"}
    shop.field_rules("dealer", ("contact", "deal", "hidden"))
    record = shop.runtime.get("contact", 1, dealer)
    assert "deal" not in record and "deal" not in record["_titles"]
    shop.field_rules("dealer", ("deal", "title", "hidden"))
    assert shop.runtime.get("contact", 1, dealer)["_titles"] == {"deal": "#1"}


def test_filters_sorts_and_search_do_not_leak(shop: Shop) -> None:
    agent = shop.actor(shop.user("ann", roles=("agent",)))
    for query in (
        ListQuery(filters=[Filter("phone", "eq", PHONE)]),
        ListQuery(filters=[Filter("id_no", "contains", "1101")]),
        ListQuery(sort="-email"),
    ):
        with pytest.raises(AccessDenied, match="hidden or masked for you"):
            shop.runtime.list("contact", query, agent)
    assert shop.runtime.list("contact", ListQuery(filters=[Filter("name", "eq", "Alice Smith")]), agent).items
    assert shop.runtime.list("contact", ListQuery(search="13812341234"), agent).items == []
    assert shop.runtime.list("contact", ListQuery(search="199003"), agent).items == []
    assert len(shop.runtime.list("contact", ListQuery(search="Alice"), agent).items) == 1
    assert len(shop.runtime.list("contact", ListQuery(search="199003")).items) == 1


def test_restricted_fields_cannot_be_written_but_unchanged_echoes_pass(shop: Shop) -> None:
    agent = shop.actor(shop.user("ann", roles=("agent",)))
    for change in ({"name": "Eve"}, {"phone": "13900000000"}, {"id_no": "X"}):
        with pytest.raises(AccessDenied, match="may not change"):
            shop.runtime.update("contact", 1, change, agent)
    with pytest.raises(AccessDenied, match="may not change phone"):
        shop.runtime.create("contact", {"name": "", "phone": "13900000000"}, agent)
    shown = shop.runtime.get("contact", 1, agent)
    echoed = {k: shown[k] for k in ("name", "phone", "email")}
    updated = shop.runtime.update("contact", 1, {**echoed, "deal": None}, agent)
    assert updated["deal"] is None and updated["phone"] == "+86 138****1234"
    stored = shop.runtime.get("contact", 1)
    assert (stored["name"], stored["phone"], stored["email"], stored["id_no"]) == (
        "Alice Smith",
        PHONE,
        EMAIL,
        ID_NO,
    )
    with pytest.raises(AccessDenied):
        shop.runtime.create("contact", {"name": "Bob"}, agent)  # name is read-only for her, even when new
    with pytest.raises(RecordInvalid) as missing:  # an empty restricted field passes the guard...
        shop.runtime.create("contact", {"deal": 1, "phone": ""}, agent)
    assert [p.path for p in missing.value.problems] == ["name"]  # ...but she cannot fill the required name


def test_reveal_returns_clear_values_and_is_audited(shop: Shop, site: Site) -> None:
    ann = shop.user("ann", roles=("agent",))
    agent = Actor(ann, "ann", origin="10.0.0.7")
    assert reveal(shop.runtime, "contact", 1, ["email"], agent) == {"email": EMAIL}
    with pytest.raises(AccessDenied, match="may not reveal phone"):
        reveal(shop.runtime, "contact", 1, ["email", "phone"], agent)
    with pytest.raises(RecordInvalid) as bad:
        reveal(shop.runtime, "contact", 1, ["nope"], agent)
    assert bad.value.problems[0].code == "unknown_field"
    stranger = shop.actor(shop.user("zed"))
    with pytest.raises(AccessDenied):
        reveal(shop.runtime, "contact", 1, ["email"], stranger)
    with site.engine.connect() as conn:
        rows = (
            conn.execute(sa.select(audit_log).where(audit_log.c.action == "record.reveal")).mappings().all()
        )
    assert [(r["actor_id"], r["origin"], r["entity"], r["record_id"], r["changes"]) for r in rows] == [
        (ann, "10.0.0.7", "contact", 1, {"fields": ["email"]})
    ]
    assert EMAIL not in str(dict(rows[0]))


def test_reveal_of_an_invisible_record_is_not_found(shop: Shop) -> None:
    shop.role("own_only", ("contact", "read", "own"))
    shop.field_rules("own_only", ("contact", "email", "masked", None, True))
    mine = shop.actor(shop.user("olga", roles=("own_only",)))
    with pytest.raises(NotFound):
        reveal(shop.runtime, "contact", 1, ["email"], mine)


def test_rules_are_checked_against_the_model(shop: Shop) -> None:
    with pytest.raises(RecordInvalid) as bad:
        shop.field_rules(
            "agent",
            ("nope", "x", "hidden"),
            ("contact", "nope", "hidden"),
            ("contact", "phone", "secret"),
            ("contact", "email", "masked", "zigzag"),
            ("contact", "owner_id", "hidden"),
        )
    assert [(p.path, p.code) for p in bad.value.problems] == [
        ("fields[0].entity", "unknown_entity"),
        ("fields[1].field", "unknown_field"),
        ("fields[2].access", "choice"),
        ("fields[3].mask", "choice"),
        ("fields[4].field", "unknown_field"),
    ]
    with pytest.raises(NotFound):
        shop.field_rules("ghost", ("contact", "phone", "hidden"))
    assert [r["field"] for r in shop.admin.field_rules("agent")] == ["email", "id_no", "name", "phone"]
