"""User management over /api/v1/users: list, create with unit and roles, change, deactivate, reset password."""

from __future__ import annotations

from flask import Flask

from crm_platform.auth.users import authenticate
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of, paths_of

STRONG = "ann-amber-kettle-42"


def test_only_administrators_manage_users(user: Api, anonymous: Api) -> None:
    """Normal users get 403 and anonymous callers 401 on every users endpoint."""
    calls = [
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/1"),
        ("PATCH", "/users/1"),
        ("POST", "/users/1/deactivate"),
        ("POST", "/users/1/activate"),
        ("POST", "/users/1/reset-password"),
    ]
    for method, path in calls:
        assert user.call(method, path, {}).status_code == 403, path
        assert anonymous.call(method, path, {}).status_code == 401, path


def test_create_list_change_deactivate_and_reset(admin: Api, api_svc: CrmServices, api_app: Flask) -> None:
    """A user made in a store with a timed role; her roles and unit change; she is deactivated and back."""
    hq = admin.ok("POST", "/access/org-units", {"name": "hq"}, status=201)
    store = admin.ok("POST", "/access/org-units", {"name": "store_1", "parent_id": hq["id"]}, status=201)
    for role in ("clerk", "buyer"):
        admin.ok("POST", "/access/roles", {"name": role}, status=201)
    body = {
        "username": "mei.lin",
        "password": STRONG,
        "display_name": "林梅",
        "locale": "zh-CN",
        "unit_id": store["id"],
        "roles": ["clerk", {"role": "buyer", "expires_at": "2031-01-31T18:00:00"}],
    }
    made = admin.ok("POST", "/users", body, status=201)
    assert made["unit_id"] == store["id"] and made["display_name"] == "林梅" and made["is_active"]
    assert made["roles"] == [
        {"role": "buyer", "expires_at": "2031-01-31T18:00:00+00:00"},
        {"role": "clerk", "expires_at": None},
    ]
    listed = admin.ok("GET", "/users?q=mei")
    assert listed["total"] == 1 and listed["items"][0]["username"] == "mei.lin"
    assert admin.ok("GET", "/users?limit=1")["total"] == 2  # the admin and mei.lin
    changed = admin.ok("PATCH", f"/users/{made['id']}", {"roles": ["buyer"], "unit_id": hq["id"]})
    assert changed["roles"] == [{"role": "buyer", "expires_at": None}] and changed["unit_id"] == hq["id"]
    assert admin.ok("PATCH", f"/users/{made['id']}", {"unit_id": None})["unit_id"] is None
    assert not admin.ok("POST", f"/users/{made['id']}/deactivate")["is_active"]
    assert authenticate(api_svc.engine, "mei.lin", STRONG) is None
    assert admin.ok("GET", "/users?active=false")["items"][0]["username"] == "mei.lin"
    assert admin.ok("POST", f"/users/{made['id']}/activate")["is_active"]
    reset = admin.ok("POST", f"/users/{made['id']}/reset-password", {"password": "tea-lantern-violet-88"})
    assert reset["must_change_password"] is True
    assert authenticate(api_svc.engine, "mei.lin", "tea-lantern-violet-88") is not None


def test_bad_input_is_refused_with_the_reasons(admin: Api) -> None:
    """Weak passwords (the zxcvbn rule), unknown roles and units, duplicates: 422/409, nothing half made."""
    weak = admin.post("/users", {"username": "kim", "password": "password123"})
    assert weak.status_code == 422 and paths_of(weak) == {"password"}
    unknown = admin.post(
        "/users", {"username": "kim", "password": STRONG, "roles": ["ghost"], "unit_id": 999}
    )
    assert unknown.status_code == 422 and paths_of(unknown) == {"roles[0]", "unit_id"}
    assert admin.ok("GET", "/users?q=kim")["total"] == 0  # nothing was created
    bad = admin.post("/users", {"username": "kim", "password": STRONG, "locale": "fr"})
    assert bad.status_code == 422 and paths_of(bad) == {"locale"}
    bad = admin.post("/users", {"username": "bad name!", "password": STRONG})
    assert bad.status_code == 422 and paths_of(bad) == {"username"}
    admin.ok("POST", "/users", {"username": "kim", "password": STRONG}, status=201)
    again = admin.post("/users", {"username": "kim", "password": STRONG})
    assert again.status_code == 409
    uid = admin.ok("GET", "/users?q=kim")["items"][0]["id"]
    too_weak = admin.post(f"/users/{uid}/reset-password", {"password": "kim"})
    assert too_weak.status_code == 422 and paths_of(too_weak) == {"password"}
    expiry = admin.patch(f"/users/{uid}", {"roles": [{"role": "x", "expires_at": "soon"}]})
    assert expiry.status_code == 422 and "roles[0].expires_at" in paths_of(expiry)
    assert admin.get("/users/999999").status_code == 404
    assert error_of(admin.get("/users?limit=0"))["code"]
