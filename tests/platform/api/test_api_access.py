"""Access-control administration through the API, and its effect on the record endpoints."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.api.apisupport import CUSTOMER_LINE, Api, define_crm, error_of, paths_of
from tests.platform.api.importsupport import upload

PASSWORD = "a-long-enough-password-1"


def user_id(svc: CrmServices, username: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())


@pytest.fixture
def bob(api_app: Flask, api_svc: CrmServices) -> Api:
    """A second normal user."""
    account = create_user(api_svc.engine, "bob", PASSWORD)
    return Api(api_app.test_client(), create_token(api_svc.engine, account.id, "tests"))


@pytest.fixture
def stores(admin: Api, user: Api, bob: Api, api_svc: CrmServices) -> dict[str, Any]:
    """hq -> store_a (alice), store_b (bob); role store_manager reads and writes companies of her unit."""
    define_crm(admin)
    hq = admin.ok("POST", "/access/org-units", {"name": "hq", "label": {"en": "HQ"}}, status=201)
    a = admin.ok("POST", "/access/org-units", {"name": "store_a", "parent_id": hq["id"]}, status=201)
    b = admin.ok("POST", "/access/org-units", {"name": "store_b", "parent_id": hq["id"]}, status=201)
    alice_id, bob_id = user_id(api_svc, "alice"), user_id(api_svc, "bob")
    admin.ok("PUT", f"/access/users/{alice_id}/org-unit", {"unit_id": a["id"]})
    admin.ok("PUT", f"/access/users/{bob_id}/org-unit", {"unit_id": b["id"]})
    admin.ok("POST", "/access/roles", {"name": "store_manager"}, status=201)
    rules = [
        {"entity": "company", "operation": op, "scope": "org_unit"}
        for op in ("read", "create", "update", "delete")
    ]
    saved = admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    assert len(saved["permissions"]) == 4
    for uid in (alice_id, bob_id):
        admin.ok("POST", f"/access/users/{uid}/roles", {"role": "store_manager"})
    a1 = user.ok("POST", "/records/company", {"name": "A1"}, status=201)["id"]
    b1 = bob.ok("POST", "/records/company", {"name": "B1"}, status=201)["id"]
    return {"hq": hq["id"], "a": a["id"], "b": b["id"], "alice": alice_id, "bob": bob_id, "a1": a1, "b1": b1}


def names(api: Api, path: str = "/records/company") -> list[str]:
    return sorted(item["name"] for item in api.ok("GET", path)["items"])


def test_only_administrators_manage_access(user: Api, anonymous: Api) -> None:
    """Normal users get 403 on every access endpoint; anonymous callers are refused."""
    for method, path, body in (
        ("GET", "/access/org-units", None),
        ("POST", "/access/org-units", {"name": "x"}),
        ("PUT", "/access/roles/x/permissions", {"permissions": []}),
        ("POST", "/access/shares", {"entity": "company", "record_id": 1, "user_id": 1}),
        ("PUT", "/access/enforcement", {"enforced": False}),
    ):
        response = user.call(method, path, body)
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", (method, path)
        # without a session or token: 401 (state-changing requests may be stopped by CSRF first)
        assert anonymous.call(method, path, body).status_code in (400, 401)
    assert anonymous.get("/access/org-units").status_code == 401


def test_store_scopes_through_the_record_api(stores: dict[str, Any], admin: Api, user: Api, bob: Api) -> None:
    """Each store manager sees her store's records; another store's id is 404 on get, patch and delete."""
    assert names(user) == ["A1"] and names(bob) == ["B1"] and names(admin) == ["A1", "B1"]
    assert names(user, "/records/company?q=B1") == []
    assert [r["title"] for r in user.ok("GET", "/records/company/lookup?q=")] == ["A1"]
    b1 = stores["b1"]
    for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
        response = user.call(method, f"/records/company/{b1}", body)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found", method
    assert admin.ok("GET", f"/records/company/{b1}")["name"] == "B1"


def test_denied_operation_is_a_403_naming_entity_and_operation(stores: dict[str, Any], user: Api) -> None:
    """No permission on customer: 403 permission_denied with entity and operation."""
    response = user.get("/records/customer")
    assert response.status_code == 403
    assert error_of(response) | {"message": ""} == {
        "code": "permission_denied",
        "message": "",
        "entity": "customer",
        "operation": "read",
    }
    assert user.post("/records/customer", {"name": "x"}).status_code == 403


def test_sharing_through_the_api(stores: dict[str, Any], admin: Api, user: Api) -> None:
    """Read shares show, write shares allow changes, removed and expired shares stop counting."""
    b1, alice = stores["b1"], stores["alice"]
    share = admin.ok(
        "POST", "/access/shares", {"entity": "company", "record_id": b1, "user_id": alice}, status=201
    )
    assert share["permission"] == "read" and share["entity"] == "company"
    assert user.ok("GET", f"/records/company/{b1}")["name"] == "B1"
    denied = user.patch(f"/records/company/{b1}", {"name": "B1 by alice"})
    assert denied.status_code == 403 and error_of(denied)["operation"] == "update"
    write = admin.ok(
        "POST",
        "/access/shares",
        {"entity": "company", "record_id": b1, "user_id": alice, "permission": "write"},
        status=201,
    )
    assert user.ok("PATCH", f"/records/company/{b1}", {"name": "B1 by alice"})["name"] == "B1 by alice"
    listed = admin.ok("GET", f"/access/shares?entity=company&record_id={b1}")["items"]
    assert [s["id"] for s in listed] == [share["id"], write["id"]]
    for item in listed:
        admin.ok("DELETE", f"/access/shares/{item['id']}", status=204)
    assert user.get(f"/records/company/{b1}").status_code == 404
    admin.ok(
        "POST",
        "/access/shares",
        {"entity": "company", "record_id": b1, "user_id": alice, "expires_at": "2000-01-01T00:00:00Z"},
        status=201,
    )
    assert user.get(f"/records/company/{b1}").status_code == 404


def test_team_shares_and_expiring_roles(stores: dict[str, Any], admin: Api, user: Api, bob: Api) -> None:
    """A team share reaches its members; a role given until a past time gives nothing."""
    admin.ok("POST", "/access/teams", {"name": "east"}, status=201)
    admin.ok("PUT", f"/access/teams/east/members/{stores['alice']}", status=204)
    admin.ok(
        "POST", "/access/shares", {"entity": "company", "record_id": stores["b1"], "team": "east"}, status=201
    )
    assert names(user) == ["A1", "B1"]
    admin.ok("DELETE", f"/access/teams/east/members/{stores['alice']}", status=204)
    assert names(user) == ["A1"]
    info = admin.ok(
        "POST",
        f"/access/users/{stores['bob']}/roles",
        {"role": "store_manager", "expires_at": "2001-01-01T00:00:00"},
    )
    assert info["roles"] == [{"role": "store_manager", "expires_at": "2001-01-01T00:00:00+00:00"}]
    assert bob.get("/records/company").status_code == 403
    admin.ok("DELETE", f"/access/users/{stores['bob']}/roles/store_manager", status=204)
    assert admin.get(f"/access/users/{stores['bob']}").get_json()["roles"] == []


def test_org_units_move_and_delete(stores: dict[str, Any], admin: Api) -> None:
    """Units can be renamed and moved (not below themselves) and deleted only when empty."""
    moved = admin.ok(
        "PATCH", f"/access/org-units/{stores['b']}", {"parent_id": stores["a"], "name": "store_b2"}
    )
    assert moved == {"id": stores["b"], "name": "store_b2", "label": {}, "parent_id": stores["a"]}
    cycle = admin.patch(f"/access/org-units/{stores['hq']}", {"parent_id": stores["b"]})
    assert cycle.status_code == 422 and paths_of(cycle) == {"parent_id"}
    assert admin.delete(f"/access/org-units/{stores['a']}").status_code == 409
    assert admin.ok("GET", f"/access/org-units/{stores['b']}")["members"] == [stores["bob"]]
    admin.ok("PUT", f"/access/users/{stores['bob']}/org-unit", {"unit_id": None})
    admin.ok("DELETE", f"/access/org-units/{stores['b']}", status=204)
    assert [u["name"] for u in admin.ok("GET", "/access/org-units")["items"]] == ["hq", "store_a"]


def test_bad_input_gets_4xx_never_500(stores: dict[str, Any], admin: Api) -> None:
    """Malformed or impossible requests are answered with JSON 4xx errors naming the problem."""
    bad_scope = admin.put(
        "/access/roles/store_manager/permissions",
        {"permissions": [{"entity": "company", "operation": "read", "scope": "galaxy"}]},
    )
    assert bad_scope.status_code == 422 and paths_of(bad_scope) == {"permissions[0].scope"}
    bad_op = admin.put(
        "/access/roles/store_manager/permissions",
        {"permissions": [{"entity": "Bad Name", "operation": "fly"}]},
    )
    assert paths_of(bad_op) == {"permissions[0].entity", "permissions[0].operation"}
    assert admin.put("/access/roles/nobody/permissions", {"permissions": []}).status_code == 404
    assert admin.put("/access/roles/store_manager/permissions", {"permissions": "all"}).status_code == 422
    assert admin.post("/access/roles", {"name": "store_manager"}).status_code == 409
    assert admin.post("/access/org-units", {"name": "hq"}).status_code == 409
    assert admin.post("/access/org-units", {"name": ""}).status_code == 422
    assert admin.post("/access/org-units", {"name": "x", "parent_id": 999}).status_code == 422
    assert admin.post("/access/org-units", {"name": "x", "parent_id": "abc"}).status_code == 400
    assert admin.post("/access/org-units", {"name": "x", "label": ["no"]}).status_code == 422
    assert (
        admin.call(
            "POST", "/access/org-units", data="{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert admin.get("/access/org-units/999").status_code == 404
    assert admin.get("/access/org-units/abc").status_code == 404
    assert admin.put("/access/users/999/org-unit", {"unit_id": None}).status_code == 404
    assert admin.put(f"/access/users/{stores['bob']}/org-unit", {}).status_code == 422
    assert (
        admin.post(
            f"/access/users/{stores['bob']}/roles", {"role": "store_manager", "expires_at": "soon"}
        ).status_code
        == 422
    )
    assert admin.post(f"/access/users/{stores['bob']}/roles", {"role": "ghost"}).status_code == 404
    assert admin.delete(f"/access/users/{stores['bob']}/roles/ghost").status_code == 404
    both = admin.post(
        "/access/shares",
        {"entity": "company", "record_id": stores["b1"], "user_id": stores["bob"], "team": "t"},
    )
    assert both.status_code == 422
    assert (
        admin.post(
            "/access/shares", {"entity": "company", "record_id": 999, "user_id": stores["bob"]}
        ).status_code
        == 404
    )
    assert (
        admin.post("/access/shares", {"entity": "nope", "record_id": 1, "user_id": stores["bob"]}).status_code
        == 404
    )
    assert (
        admin.post(
            "/access/shares",
            {"entity": "company", "record_id": stores["b1"], "user_id": stores["bob"], "permission": "own"},
        ).status_code
        == 422
    )
    assert (
        admin.post(
            "/access/shares", {"entity": "company", "record_id": stores["b1"], "team": "ghosts"}
        ).status_code
        == 404
    )
    assert admin.get("/access/shares?entity=company").status_code == 400
    assert admin.delete("/access/shares/999").status_code == 404
    assert admin.put("/access/teams/ghosts/members/1").status_code == 404
    assert admin.put("/access/enforcement", {"enforced": "yes"}).status_code == 422


def test_enforcement_switch(stores: dict[str, Any], admin: Api, user: Api) -> None:
    """Switching enforcement off gives normal users full access again."""
    assert admin.ok("GET", "/access/enforcement") == {"enforced": True}
    admin.ok("PUT", "/access/enforcement", {"enforced": False})
    assert names(user) == ["A1", "B1"]


def test_links_only_point_at_records_the_user_may_read(stores: dict[str, Any], admin: Api, user: Api) -> None:
    """Issue 14 safety 1: another store's company is refused as a link (422, its name never shown)."""
    rules = [
        {"entity": entity, "operation": op, "scope": "org_unit"}
        for entity in ("company", "customer")
        for op in ("read", "create", "update", "delete", "import")
    ]
    admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    b1, a1 = stores["b1"], stores["a1"]
    response = user.post("/records/customer", {"name": "Kim", "company": b1})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "B1" not in response.get_data(as_text=True)
    assert error_of(response)["code"] == "validation_failed"
    # An import finds links among the records she may read only: by id or by title, B1 is not there.
    job = upload(user, f"name,company\nKim,#{b1}\nLee,B1\n".encode()).get_json()
    report = user.ok("POST", f"/records/customer/imports/{job['id']}/dry-run", {"mapping": job["mapping"]})
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "company"), (3, "company")]
    assert "B1" not in json.dumps(report["errors"][0])
    kim = user.ok("POST", "/records/customer", {"name": "Kim", "company": a1}, status=201)
    assert kim["_titles"]["company"] == "A1"
    refused = user.patch(f"/records/customer/{kim['id']}", {"company": b1})
    assert refused.status_code == 422 and "B1" not in refused.get_data(as_text=True)
    assert user.ok("GET", f"/records/customer/{kim['id']}")["company"] == a1


def _attach(api: Api, text: bytes) -> int:
    response = api.call(
        "POST", "/records/customer/attachments?field=contract", data={"file": (io.BytesIO(text), "terms.txt")}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.get_json()["id"])


def test_an_attachment_is_read_only_through_a_record_the_reader_may_read(
    stores: dict[str, Any], admin: Api, user: Api, bob: Api
) -> None:
    """Ids are sequential: before, any signed-in user downloaded any file by counting up (pages and API)."""
    # Files are stored only for those who may create or update records of the entity.
    refused = user.call(
        "POST", "/records/customer/attachments?field=contract", data={"file": (io.BytesIO(b"x"), "x.txt")}
    )
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    rules = [
        {"entity": entity, "operation": op, "scope": "org_unit"}
        for entity in ("company", "customer")
        for op in ("read", "create", "update", "delete")
    ]
    admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    secret = _attach(bob, b"store b terms")
    assert bob.get(f"/attachments/{secret}").data == b"store b terms"  # her own upload, not saved yet
    assert user.get(f"/attachments/{secret}").status_code == 404
    # Alice cannot borrow Bob's file into a record of hers to read it there.
    borrowed = user.post("/records/customer", {"name": "Alice's", "contract": secret})
    assert borrowed.status_code == 422 and paths_of(borrowed) == {"contract"}
    record = bob.ok("POST", "/records/customer", {"name": "Bob's", "contract": secret}, status=201)
    for reader, status in ((bob, 200), (admin, 200), (user, 404)):
        assert reader.get(f"/attachments/{secret}").status_code == status
    # Shared with Alice: she may read the record, so its file too.
    admin.ok(
        "POST",
        "/access/shares",
        {"entity": "customer", "record_id": record["id"], "user_id": stores["alice"]},
        status=201,
    )
    assert user.get(f"/attachments/{secret}").data == b"store b terms"
    mine = _attach(user, b"alice terms")
    assert user.ok("POST", "/records/customer", {"name": "Alice's", "contract": mine}, status=201)
    assert bob.get(f"/attachments/{mine}").status_code == 404
    # Editing other fields of a record keeps the file it holds.
    assert (
        bob.ok("PATCH", f"/records/customer/{record['id']}", {"name": "Bob's renamed"})["contract"] == secret
    )


def test_a_file_on_a_child_line_is_read_through_its_parent_record(
    stores: dict[str, Any], admin: Api, user: Api, bob: Api
) -> None:
    fields: list[dict[str, Any]] = list(CUSTOMER_LINE["fields"])  # type: ignore[call-overload]
    line = {**CUSTOMER_LINE, "fields": [*fields, {"name": "scan", "type": "attachment"}]}
    admin.define("entity", "customer_line", line)
    admin.publish("scans on lines")
    rules = [{"entity": "customer", "operation": "read", "scope": "org_unit"}]
    admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    scan = _attach(admin, b"scan")
    record = admin.ok(
        "POST", "/records/customer", {"name": "HQ's", "lines": [{"product": "p", "scan": scan}]}, status=201
    )
    assert record["lines"][0]["scan"] == scan
    assert user.get(f"/attachments/{scan}").status_code == 404
    admin.ok(
        "POST",
        "/access/shares",
        {"entity": "customer", "record_id": record["id"], "user_id": stores["alice"]},
        status=201,
    )
    assert user.get(f"/attachments/{scan}").data == b"scan"
    assert bob.get(f"/attachments/{scan}").status_code == 404
