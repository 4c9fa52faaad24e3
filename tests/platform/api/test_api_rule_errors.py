"""The rule-error log over the API: configure permission, failures per rule and record, switching a rule on."""

from __future__ import annotations

from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, define_crm

SHAKY = {
    "name": "shaky",
    "entity": "customer",
    "event": "create",
    "condition": "1 / (age - 40) > 0",
    "actions": [{"type": "set_fields", "values": {"notes": "checked"}}],
}


def test_only_configurers_read_the_rule_errors(user: Api, anonymous: Api) -> None:
    """403 without the configure permission, 401 without credentials."""
    for method, path in (("GET", "/rule-errors"), ("POST", "/rule-errors/shaky/enable")):
        assert user.call(method, path).status_code == 403, path
        assert anonymous.call(method, path).status_code == 401, path


def test_failures_are_listed_and_a_switched_off_rule_switched_on(admin: Api, api_svc: CrmServices) -> None:
    """Five failing creates: five log lines, the rule switched off; switching on lets it fire again."""
    assert admin.ok("GET", "/rule-errors") == {"items": [], "total": 0, "switched_off": []}
    define_crm(admin)
    admin.define("trigger", "shaky", SHAKY)
    admin.publish("a shaky rule")
    made = [admin.ok("POST", "/records/customer", {"name": f"c{i}", "age": 40}, status=201) for i in range(5)]
    found = admin.ok("GET", "/rule-errors?rule=shaky&limit=2")
    assert found["total"] == 5 and len(found["items"]) == 2
    first = found["items"][0]
    assert (first["rule"], first["entity"], first["action"], first["count"]) == (
        "shaky",
        "customer",
        "condition",
        1,
    )
    assert first["record_id"] == made[-1]["id"] and "division by zero" in first["message"].lower()
    [off] = found["switched_off"]
    assert off["rule"] == "shaky" and off["failures"] == 5 and off["disabled_at"]
    assert admin.ok("GET", "/rule-errors?rule=other")["total"] == 0
    quiet = admin.ok("POST", "/records/customer", {"name": "quiet", "age": 41}, status=201)
    assert admin.ok("GET", f"/records/customer/{quiet['id']}")["notes"] is None  # off: did not fire
    assert admin.ok("POST", "/rule-errors/shaky/enable") == {"rule": "shaky", "enabled": True}
    assert admin.post("/rule-errors/shaky/enable").status_code == 404  # already on
    fired = admin.ok("POST", "/records/customer", {"name": "fired", "age": 41}, status=201)
    assert admin.ok("GET", f"/records/customer/{fired['id']}")["notes"] == "checked"
    assert admin.ok("GET", "/rule-errors")["switched_off"] == []
    assert admin.get("/rule-errors?limit=0").status_code == 400
