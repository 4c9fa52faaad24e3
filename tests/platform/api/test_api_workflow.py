"""Workflow endpoints: available transitions, taking them, approvals and history, with JSON 4xx errors."""

from __future__ import annotations

from typing import Any

import jsonschema
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import roles, user_roles
from tests.platform.api.apisupport import Api, error_of, options

DEAL = {
    "label": {"en": "Deal"},
    "title_field": "title",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "amount", "type": "integer"},
        {"name": "reason", "type": "text"},
        {"name": "stage", "type": "select", "options": options("draft", "open", "won", "lost")},
    ],
}
FLOW: dict[str, Any] = {
    "entity": "deal",
    "state_field": "stage",
    "states": [{"name": "draft", "initial": True}, {"name": "open"}, {"name": "won"}, {"name": "lost"}],
    "transitions": [
        {
            "name": "publish",
            "label": {"en": "Publish"},
            "from": ["draft"],
            "to": "open",
            "guard": "amount > 0",
        },
        {"name": "win", "from": ["open"], "to": "won", "roles": ["sales"], "required_fields": ["reason"]},
        {"name": "lose", "from": ["open"], "to": "lost", "approval_role": "manager"},
    ],
}


def manager(app: Flask, svc: CrmServices) -> Api:
    """Return a client of a user holding the manager role."""
    account = create_user(svc.engine, "mia", "mia-copper-lantern-9")
    with svc.engine.begin() as conn:
        conn.execute(roles.insert().values(name="manager", label={}))
        conn.execute(user_roles.insert().values(user_id=account.id, role="manager"))
    return Api(app.test_client(), create_token(svc.engine, account.id, "tests"))


def define(admin: Api) -> None:
    admin.define("entity", "deal", DEAL)
    admin.define("workflow", "deal_flow", FLOW)
    admin.publish("deals")


def test_take_transitions_with_guards_roles_and_history(admin: Api, user: Api) -> None:
    define(admin)
    deal = user.ok("POST", "/records/deal", {"title": "Big", "amount": 0}, status=201)
    assert deal["stage"] == "draft"
    base = f"/records/deal/{deal['id']}"
    listed = user.ok("GET", f"{base}/transitions")
    assert (listed["workflow"], listed["state"], listed["pending_approvals"]) == ("deal_flow", "draft", [])
    [publish] = listed["transitions"]
    assert (publish["name"], publish["guard_passed"], publish["reason"]) == (
        "publish",
        False,
        "guard failed: amount > 0",
    )

    refused = user.post(f"{base}/transitions/publish", {"comment": "go"})
    assert refused.status_code == 409
    error = error_of(refused)
    assert (error["code"], error["reason"], error["transition"]) == ("transition_refused", "guard", "publish")
    assert "guard failed: amount > 0" in error["message"]

    moved = user.ok("POST", f"{base}/transitions/publish", {"comment": "go", "values": {"amount": 5}})
    assert (moved["status"], moved["record"]["stage"], moved["record"]["amount"]) == ("done", "open", 5)

    forbidden = user.post(f"{base}/transitions/win", {"values": {"reason": "x"}})
    assert (forbidden.status_code, error_of(forbidden)["code"]) == (403, "transition_forbidden")
    incomplete = admin.post(f"{base}/transitions/win")
    assert (incomplete.status_code, error_of(incomplete)["code"]) == (422, "transition_incomplete")
    assert [d["path"] for d in error_of(incomplete)["details"]] == ["reason"]
    wrong_value = admin.post(f"{base}/transitions/win", {"values": {"amount": "lots"}})
    assert (wrong_value.status_code, error_of(wrong_value)["code"]) == (422, "validation_failed")
    assert (
        admin.ok("POST", f"{base}/transitions/win", {"values": {"reason": "price"}})["record"]["stage"]
        == "won"
    )

    direct = admin.patch(base, {"stage": "open"})
    assert direct.status_code == 422
    assert [(d["path"], d["code"]) for d in error_of(direct)["details"]] == [("stage", "use_transition")]

    history = user.ok("GET", f"{base}/history")["items"]
    assert [(h["from_state"], h["to_state"], h["transition"], h["comment"]) for h in history] == [
        (None, "draft", None, ""),
        ("draft", "open", "publish", "go"),
        ("open", "won", "win", ""),
    ]
    assert [h["is_current"] for h in history] == [False, False, True]


def test_approvals_wait_for_a_holder_of_the_role(
    api_app: Flask, api_svc: CrmServices, admin: Api, user: Api
) -> None:
    define(admin)
    mia = manager(api_app, api_svc)
    deal = user.ok("POST", "/records/deal", {"title": "Shaky", "amount": 3}, status=201)
    base = f"/records/deal/{deal['id']}"
    user.ok("POST", f"{base}/transitions/publish")
    pending = user.ok("POST", f"{base}/transitions/lose", {"comment": "silent"}, status=202)
    assert pending["status"] == "pending" and pending["record"]["stage"] == "open"
    [waiting] = user.ok("GET", f"{base}/approvals")["items"]
    assert (waiting["id"], waiting["transition"], waiting["role"]) == (
        pending["approval_id"],
        "lose",
        "manager",
    )
    assert user.ok("GET", f"{base}/transitions")["pending_approvals"] == [waiting]
    approve = f"{base}/approvals/{waiting['id']}/approve"
    assert error_of(user.post(approve))["code"] == "transition_forbidden"
    assert user.post(f"/records/deal/{deal['id'] + 1}/approvals/{waiting['id']}/approve").status_code == 404
    done = mia.ok("POST", approve, {"comment": "fine"})
    assert done["record"]["stage"] == "lost"
    again = mia.post(approve)
    assert (again.status_code, error_of(again)["code"]) == (409, "approval_not_pending")


def test_errors_are_json_4xx(admin: Api, user: Api) -> None:
    define(admin)
    admin.define("entity", "note", {"fields": [{"name": "text", "type": "text"}]})
    admin.publish("notes")
    deal = user.ok("POST", "/records/deal", {"title": "A", "amount": 1}, status=201)
    base = f"/records/deal/{deal['id']}"
    cases = [
        ("GET", "/records/deal/999/transitions", None, 404, "not_found"),
        ("GET", "/records/ghost/1/transitions", None, 404, "not_found"),
        ("GET", "/records/deal/abc/history", None, 404, "not_found"),
        ("GET", "/records/note/1/transitions", None, 404, "not_found"),
        ("POST", f"{base}/transitions/fly", {}, 404, "not_found"),
        ("POST", f"{base}/transitions/win", {"values": {"reason": "x"}}, 409, "transition_refused"),
        ("POST", f"{base}/transitions/publish", {"comment": 5}, 400, "bad_request"),
        ("POST", f"{base}/transitions/publish", {"values": [1]}, 400, "bad_request"),
        ("POST", f"{base}/transitions/publish", {"values": {"stage": "won"}}, 422, "validation_failed"),
        ("POST", f"{base}/approvals/7/approve", {}, 404, "not_found"),
        ("POST", f"{base}/approvals/x/reject", {}, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        response = user.call(method, path, body)
        assert (response.status_code, error_of(response)["code"]) == (status, code), (
            path,
            response.get_json(),
        )
    bad_json = user.call("POST", f"{base}/transitions/publish", data="{", content_type="application/json")
    assert (bad_json.status_code, error_of(bad_json)["code"]) == (400, "invalid_json")
    assert user.get(f"{base}/transitions").status_code == 200


def test_the_routes_are_in_the_openapi_document(admin: Api, anonymous: Api) -> None:
    define(admin)
    doc = anonymous.ok("GET", "/openapi.json")
    take = doc["paths"]["/api/v1/records/{entity}/{record_id}/transitions/{name}"]["post"]
    assert take["operationId"] == "workflow_take" and {"200", "202", "403", "409", "422"} <= set(
        take["responses"]
    )
    for path in ("transitions", "history", "approvals"):
        assert "get" in doc["paths"][f"/api/v1/records/{{entity}}/{{record_id}}/{path}"]
    approve = doc["paths"]["/api/v1/records/{entity}/{record_id}/approvals/{approval_id}/approve"]["post"]
    assert approve["summary"].startswith("Approve")
    jsonschema.Draft7Validator.check_schema(take["responses"]["200"]["content"]["application/json"]["schema"])
