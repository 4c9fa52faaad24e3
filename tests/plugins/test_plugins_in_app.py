"""Each kind of plugin addition working through a real app and database, and failing hooks isolated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask

from crm_platform.auth.users import create_token
from crm_platform.services import CrmServices
from rule_engine.tables import action_log
from tests.platform.api.apisupport import Api, error_of
from tests.platform.auth.authsupport import login
from tests.plugins.conftest import ADMIN_PASSWORD

GADGET = {
    "name": "gadget",
    "title_field": "title",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "paint", "type": "color"},
        {"name": "code", "type": "text"},
        {"name": "stamp", "type": "text"},
        {"name": "loud", "type": "text", "rules": {"formula": "shout(title)"}},
        {"name": "born", "type": "date"},
        {"name": "age_years", "type": "integer", "rules": {"formula": "age(born)"}},
        {"name": "days_left", "type": "integer", "rules": {"formula": "days_until_birthday(born)"}},
    ],
}
NOTE = {"name": "note", "title_field": "text", "fields": [{"name": "text", "type": "text"}]}
STAMP = {
    "name": "stamp_new_gadgets",
    "entity": "gadget",
    "event": "create",
    "condition": "title != 'plain'",
    "actions": [{"type": "stamp", "text": "stamped!"}],
}


def _publish(admin: Api) -> None:
    admin.define("entity", "note", NOTE)
    admin.define("entity", "gadget", GADGET)
    admin.define("trigger", "stamp_new_gadgets", STAMP)
    admin.publish("plugin entities")


def _count(svc: CrmServices, entity: str, **where: Any) -> int:
    table = svc.metadata.model().entity(entity).table
    with svc.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int(conn.execute(query).scalar_one())


def _status(admin: Api, name: str) -> dict[str, Any]:
    return next(p for p in admin.ok("GET", "/plugins")["plugins"] if p["name"] == name)


def test_field_type_function_action_and_hooks_work_together(admin: Api, plugin_svc: CrmServices) -> None:
    _publish(admin)
    today = dt.datetime.now(dt.UTC).date()
    created = admin.ok(
        "POST",
        "/records/gadget",
        {
            "title": "lamp",
            "paint": "#AABBCC",
            "code": "ab-1",
            "born": "2000-01-01",
        },
        status=201,
    )
    assert created["paint"] == "#aabbcc"  # the plugin's field type normalised it
    assert created["code"] == "AB-1"  # the before-save hook
    assert created["loud"] == "LAMP!"  # the plugin's function in a formula
    assert created["age_years"] == today.year - 2000  # the bundled birthday plugin
    next_new_year = today if (today.month, today.day) == (1, 1) else dt.date(today.year + 1, 1, 1)
    assert created["days_left"] == (next_new_year - today).days
    record = admin.ok("GET", f"/records/gadget/{created['id']}")
    assert record["stamp"] == "stamped!"  # the plugin's action in a trigger
    with plugin_svc.engine.connect() as conn:
        logged = (
            conn.execute(sa.select(action_log.c.message).where(action_log.c.action == "stamp"))
            .scalars()
            .all()
        )
    assert logged == [f"stamped gadget {created['id']}"]
    assert _count(plugin_svc, "note", text="after lamp") == 1  # the after-save hook
    bad = admin.call("POST", "/records/gadget", {"title": "bad paint", "paint": "red"})
    assert bad.status_code == 422 and error_of(bad)["details"][0]["path"] == "paint"
    refused = admin.call("POST", "/records/gadget", {"title": "invalid"})
    assert refused.status_code == 422
    assert error_of(refused)["details"] == [
        {"path": "title", "message": "the sample plugin refuses this title", "code": "plugin"}
    ]
    kept = admin.ok("POST", "/records/gadget", {"title": "keep"}, status=201)
    response = admin.call("DELETE", f"/records/gadget/{kept['id']}")
    assert response.status_code == 409 and error_of(response)["code"] == "kept"
    assert _count(plugin_svc, "gadget", title="keep") == 1
    admin.ok("DELETE", f"/records/gadget/{created['id']}", status=204)
    assert _count(plugin_svc, "gadget", title="lamp") == 0


def test_a_raising_before_hook_refuses_the_save_and_writes_nothing(
    admin: Api, plugin_svc: CrmServices
) -> None:
    _publish(admin)
    response = admin.call("POST", "/records/gadget", {"title": "boom-before", "paint": "#000000"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "plugin_failed" and "plugin 'sample' failed" in error["message"]
    assert _count(plugin_svc, "gadget") == 0 and _count(plugin_svc, "note") == 0
    fine = admin.ok("POST", "/records/gadget", {"title": "fine"}, status=201)
    # An update that would fail is refused too, and the record keeps its values.
    response = admin.call("PATCH", f"/records/gadget/{fine['id']}", {"title": "boom-before"})
    assert response.status_code == 422 and error_of(response)["code"] == "plugin_failed"
    assert admin.ok("GET", f"/records/gadget/{fine['id']}")["title"] == "fine"
    doomed = admin.ok("POST", "/records/gadget", {"title": "boom-delete"}, status=201)
    response = admin.call("DELETE", f"/records/gadget/{doomed['id']}")
    assert response.status_code == 422 and error_of(response)["code"] == "plugin_failed"
    assert _count(plugin_svc, "gadget", title="boom-delete") == 1
    status = _status(admin, "sample")
    assert status["status"] == "active" and status["hook_errors"] == 3
    assert "before_delete of gadget: RuntimeError" in status["last_hook_error"]


def test_a_raising_after_hook_keeps_the_save_and_undoes_only_its_own_writes(
    admin: Api, plugin_svc: CrmServices
) -> None:
    _publish(admin)
    created = admin.ok("POST", "/records/gadget", {"title": "boom-after", "code": "x"}, status=201)
    stored = admin.ok("GET", f"/records/gadget/{created['id']}")
    assert stored["code"] == "X" and stored["stamp"] == "stamped!"  # the save and its trigger stand
    assert _count(plugin_svc, "note", text="after boom-after") == 0  # the hook's note was rolled back
    admin.ok("POST", "/records/gadget", {"title": "calm"}, status=201)
    assert _count(plugin_svc, "note", text="after calm") == 1
    status = _status(admin, "sample")
    assert status["hook_errors"] == 1 and "after_save of gadget: RuntimeError" in status["last_hook_error"]


def test_plugin_api_route_and_page(plugin_app: Flask, plugin_svc: CrmServices, admin: Api, user: Api) -> None:
    assert admin.ok("GET", "/plugins/sample/ping") == {"pong": "admin"}
    assert user.ok("GET", "/plugins/sample/ping") == {"pong": "alice"}
    anonymous = Api(plugin_app.test_client(), None)
    assert anonymous.call("GET", "/plugins/sample/ping").status_code == 401
    # The API's token scopes apply: a records-only token may not call a plugin's route.
    records_only = create_token(plugin_svc.engine, 1, "records", scopes=["records:read"])
    response = Api(plugin_app.test_client(), records_only).call("GET", "/plugins/sample/ping")
    assert response.status_code == 403 and error_of(response)["code"] == "insufficient_scope"
    client = plugin_app.test_client()
    assert client.get("/plugins/sample/").status_code == 302  # to the sign-in page
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get("/plugins/sample/")
    assert page.status_code == 200 and "Hello admin" in page.get_data(as_text=True)
