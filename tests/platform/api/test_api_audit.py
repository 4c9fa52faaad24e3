"""The audit log through the app: what gets logged (records, transitions, publishes, sign-ins, access
changes) with who and from where, browsing and CSV export for auditors, and 403 for everyone else."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import user_roles
from tests.platform.api.apisupport import Api, error_of, options
from tests.platform.auth.authsupport import client_at, login

TICKET = {
    "title_field": "title",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "phone", "type": "phone", "sensitive": True},
        {"name": "status", "type": "select", "options": options("new", "open", "closed")},
    ],
}
FLOW: dict[str, Any] = {
    "entity": "ticket",
    "state_field": "status",
    "states": [{"name": "new", "initial": True}, {"name": "open"}, {"name": "closed"}],
    "transitions": [{"name": "start", "from": ["new"], "to": "open"}],
}


def _define(admin: Api) -> None:
    admin.define("entity", "ticket", TICKET)
    admin.define("workflow", "ticket_flow", FLOW)
    admin.publish("tickets")


def _auditor(app: Flask, svc: CrmServices) -> Api:
    account = create_user(svc.engine, "audra", "audra-password")
    with svc.engine.begin() as conn:
        conn.execute(user_roles.insert().values(user_id=account.id, role="auditor"))
    return Api(app.test_client(), create_token(svc.engine, account.id, "tests"))


def _at(api: Api, ip: str) -> Api:
    api.client.environ_base["REMOTE_ADDR"] = ip
    return api


def test_record_changes_and_transitions_are_logged_with_actor_and_origin(admin: Api, user: Api) -> None:
    _define(admin)
    alice = _at(user, "198.51.100.7")
    ticket = alice.ok("POST", "/records/ticket", {"title": "Printer", "phone": "13812341234"}, status=201)
    path = f"/records/ticket/{ticket['id']}"
    alice.ok("PATCH", path, {"title": "Printer jam"})
    alice.ok("POST", f"{path}/transitions/start", {"comment": "on it"})
    items = admin.ok("GET", f"/audit?entity=ticket&record_id={ticket['id']}")["items"]
    assert [e["action"] for e in items] == [
        "record.transition",
        "record.update",
        "record.update",
        "record.create",
    ]
    transition, state_update, title_update, created = items
    assert all((e["actor_name"], e["origin"]) == ("alice", "198.51.100.7") for e in items)
    assert transition["changes"]["state"] == ["new", "open"] and transition["changes"]["comment"] == "on it"
    assert transition["changes"]["transition"] == "start" and "new -> open" in transition["summary"]
    assert state_update["changes"] == {"status": ["new", "open"]}
    assert title_update["changes"] == {"title": ["Printer", "Printer jam"]}
    assert created["changes"]["phone"] == [None, "138****1234"] and created["changes"]["title"] == [
        None,
        "Printer",
    ]
    alice.ok("DELETE", path, status=204)
    [deleted] = admin.ok("GET", "/audit?action=record.delete")["items"]
    assert deleted["record_id"] == ticket["id"] and deleted["changes"]["phone"] == ["138****1234", None]


def test_a_refused_write_leaves_no_entry(admin: Api, user: Api) -> None:
    _define(admin)
    ticket = user.ok("POST", "/records/ticket", {"title": "A"}, status=201)
    stale = user.patch(f"/records/ticket/{ticket['id']}", {"title": "B", "lock_version": 99})
    assert stale.status_code == 409
    invalid = user.post("/records/ticket", {"phone": "12"})
    assert invalid.status_code == 422
    assert [e["action"] for e in admin.ok("GET", "/audit?action=record")["items"]] == ["record.create"]


def test_publish_rollback_and_access_changes_are_logged(admin: Api) -> None:
    _at(admin, "203.0.113.5")
    _define(admin)
    admin.define("entity", "note", {"fields": [{"name": "text", "type": "text"}]})
    admin.publish("notes")
    admin.ok("POST", "/meta/rollback", {"version": 1, "comment": "undo notes"}, status=201)
    admin.ok("POST", "/access/roles", {"name": "sales"}, status=201)
    items = admin.ok("GET", "/audit")["items"]
    assert [e["action"] for e in items] == ["access.change", "meta.rollback", "meta.publish", "meta.publish"]
    access, rollback, second, first = items
    assert (first["actor_name"], first["origin"], first["changes"]["version"]) == (
        "admin",
        "203.0.113.5",
        [None, 1],
    )
    assert second["changes"]["comment"] == "notes" and any(
        "note" in line for line in second["changes"]["metadata"]
    )
    assert rollback["changes"]["version"] == [2, 3] and rollback["summary"].endswith("undo notes")
    assert access["summary"] == "POST /access/roles" and access["changes"]["request"] == {"name": "sales"}
    assert admin.ok("GET", "/audit?action=meta")["items"] == [rollback, second, first]


def test_sign_ins_and_sign_outs_are_logged_with_the_address(
    api_app: Flask, api_svc: CrmServices, admin: Api
) -> None:
    create_user(api_svc.engine, "carol", "carol-password")
    client = client_at(api_app, "192.0.2.44")
    assert login(client, "carol", "wrong-password").status_code == 401
    assert login(client, "nobody", "whatever-pass").status_code == 401
    assert login(client, "carol", "carol-password").status_code == 302
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    items = admin.ok("GET", "/audit?action=auth")["items"]
    assert [(e["action"], e["actor_name"], e["origin"]) for e in items] == [
        ("auth.logout", "carol", "192.0.2.44"),
        ("auth.login", "carol", "192.0.2.44"),
        ("auth.login_failed", "nobody", "192.0.2.44"),
        ("auth.login_failed", "carol", "192.0.2.44"),
    ]
    assert items[1]["actor_id"] == items[0]["actor_id"] is not None and items[2]["actor_id"] is None
    assert "bad_password" in items[3]["summary"]
    assert all("carol-password" not in str(e) and "wrong-password" not in str(e) for e in items)


def test_browse_filters_and_keyset_paging(admin: Api, user: Api) -> None:
    _define(admin)
    ids = [user.ok("POST", "/records/ticket", {"title": f"T{n}"}, status=201)["id"] for n in range(5)]
    first = admin.ok("GET", "/audit?action=record.create&limit=2")
    assert [e["record_id"] for e in first["items"]] == ids[::-1][:2] and first["has_more"]
    second = admin.ok("GET", f"/audit?action=record.create&limit=2&cursor={first['next_cursor']}")
    third = admin.ok("GET", f"/audit?action=record.create&limit=2&cursor={second['next_cursor']}")
    assert [e["record_id"] for e in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None and not third["has_more"]
    assert {e["actor_name"] for e in admin.ok("GET", "/audit?actor=alice")["items"]} == {"alice"}
    assert admin.ok("GET", "/audit?actor=alice&entity=other")["items"] == []
    assert (
        len(admin.ok("GET", "/audit?since=2000-01-01&until=2999-01-01T00:00:00Z&action=record")["items"]) == 5
    )
    assert admin.ok("GET", "/audit?until=2000-01-01")["items"] == []
    bad = admin.get("/audit?since=yesterday")
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_request"


def test_csv_export_is_excel_ready_and_formula_safe(admin: Api, user: Api) -> None:
    _define(admin)
    _at(user, "=HYPERLINK(1)")
    user.ok("POST", "/records/ticket", {"title": "李雷的工单"}, status=201)
    response = admin.get("/audit/export?entity=ticket")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "id",
        "at",
        "actor_id",
        "actor_name",
        "origin",
        "action",
        "entity",
        "record_id",
        "summary",
        "changes",
    ]
    [entry] = rows[1:]
    assert (
        entry[3:8] == ["alice", "'=HYPERLINK(1)", "record.create", "ticket", "1"] and "李雷的工单" in entry[9]
    )


def test_only_auditors_and_admins_browse_but_readers_see_a_record_history(
    api_app: Flask, api_svc: CrmServices, admin: Api, user: Api
) -> None:
    _define(admin)
    ticket = admin.ok("POST", "/records/ticket", {"title": "Shared"}, status=201)
    for path in ("/audit", "/audit/export"):
        refused = user.get(path)
        assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
        assert refused.mimetype == "application/json"
    auditor = _auditor(api_app, api_svc)
    assert [e["action"] for e in auditor.ok("GET", "/audit?entity=ticket")["items"]] == ["record.create"]
    assert auditor.get("/audit/export").status_code == 200
    history = user.ok("GET", f"/records/ticket/{ticket['id']}/audit")
    assert [e["action"] for e in history["items"]] == ["record.create"] and history["items"][0][
        "actor_name"
    ] == "admin"
    assert user.get("/records/ticket/999/audit").status_code == 404
