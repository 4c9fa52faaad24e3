"""notify renders each recipient's copy as she may see the record: her field rules hide and mask values."""

from __future__ import annotations

from metamodel.access import AccessAdmin, install_access_control
from metamodel.access.fieldsecurity import install_field_security
from metamodel.records.hooks import UNKNOWN_READER
from rule_engine.tables import inbox
from rule_engine.testing.world import World, add_user, entity, make_world

PHONE = "13812341234"
LEAD = entity(
    "lead",
    [{"name": "name", "type": "text"}, {"name": "phone", "type": "phone"}, {"name": "id_no", "type": "text"}],
    title_field="name",
)
NOTIFY = {
    "to": ["role:desk", "role:boss", "user:outsider"],
    "subject": "New lead {{ title }}",
    "body": "Call {{ record.phone }} / id {{ record.id_no | default('-') }}",
}


def leads_world(db_url: str) -> World:
    trigger = {"name": "tell", "entity": "lead", "event": "create", "actions": [{"type": "notify", **NOTIFY}]}
    world = make_world(db_url, {"entity": {"lead": LEAD}, "trigger": {"tell": trigger}})
    install_access_control(world.hooks)
    install_field_security(world.hooks)
    return world


def test_each_recipient_gets_her_own_masked_copy(db_url: str) -> None:
    world = leads_world(db_url)
    desk = add_user(world.db, "dora", role_names=["desk"])
    boss = add_user(world.db, "bea", role_names=["boss"])
    outsider = add_user(world.db, "outsider")  # holds no role: may not read leads at all
    admin = AccessAdmin(world.db)
    admin.set_permissions("desk", [{"entity": "lead", "operation": "read", "scope": "all"}])
    admin.set_permissions("boss", [{"entity": "*", "operation": "read", "scope": "all"}])
    rules = [
        {"entity": "lead", "field": "phone", "access": "masked"},
        {"entity": "lead", "field": "id_no", "access": "hidden"},
    ]
    admin.set_field_rules("desk", rules, world.metadata.model())
    world.runtime().create("lead", {"name": "Wang", "phone": PHONE, "id_no": "110101199003071234"})
    bodies = {row["user_id"]: row["body"] for row in world.rows(inbox)}
    assert bodies[desk] == "Call 138****1234 / id -"
    assert bodies[boss] == f"Call {PHONE} / id 110101199003071234"
    assert bodies[outsider] == "Call 138****1234 / id -"  # the unknown reader: every role's restrictions
    assert {row["subject"] for row in world.rows(inbox)} == {"New lead Wang"}


def test_the_unknown_reader_gets_the_strictest_rules(db_url: str) -> None:
    world = leads_world(db_url)
    admin = AccessAdmin(world.db)
    for role, access in (("a", "readonly"), ("b", "masked"), ("c", "hidden")):
        admin.create_role(role)
        admin.set_permissions(role, [{"entity": "lead", "operation": "read", "scope": "all"}])
        admin.set_field_rules(
            role, [{"entity": "lead", "field": "name", "access": access}], world.metadata.model()
        )
    admin.set_field_rules(
        "a", [{"entity": "lead", "field": "phone", "access": "masked"}], world.metadata.model()
    )
    runtime = world.runtime()
    stored = runtime.create("lead", {"name": "Wang", "phone": PHONE})
    shown = runtime.present_as("lead", stored, UNKNOWN_READER)
    assert "name" not in shown and shown["phone"] == "138****1234"
    admin.set_enforced(False)
    assert runtime.present_as("lead", stored, UNKNOWN_READER)["phone"] == PHONE
