"""Authentication, administrator checks, CSRF for cookie sessions and API tokens."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.platform.api.apisupport import Api, define_crm, error_of


def test_every_endpoint_needs_sign_in(anonymous: Api, admin: Api) -> None:
    """Without a session or token the API answers 401 JSON; a bad token too."""
    define_crm(admin)
    for path in (
        "/meta/entities",
        "/meta/field-types",
        "/records/customer",
        "/records/customer/1",
        "/meta/versions",
    ):
        response = anonymous.get(path)
        assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
    forged = anonymous.post(
        "/records/customer", {"name": "x"}, headers={"Authorization": "Bearer crm_forged"}
    )
    assert forged.status_code == 401 and error_of(forged)["code"] == "unauthorized"
    assert anonymous.get("/openapi.json").status_code == 200


def test_metadata_writes_need_an_administrator(user: Api, admin: Api) -> None:
    """A normal user reads published metadata and records but cannot change metadata (403)."""
    define_crm(admin)
    assert [e["name"] for e in user.ok("GET", "/meta/entities")["items"]] == [
        "company",
        "customer",
        "customer_line",
    ]
    assert user.ok("GET", "/meta/entities/customer")["name"] == "customer"
    assert user.ok("POST", "/records/company", {"name": "Mine"}, status=201)["name"] == "Mine"
    writes: list[tuple[str, str, Any]] = [
        ("PUT", "/meta/draft/entity/thing", {"fields": []}),
        ("DELETE", "/meta/draft/entity/company", None),
        ("GET", "/meta/draft", None),
        ("GET", "/meta/draft/entity/company", None),
        ("POST", "/meta/draft/validate", None),
        ("POST", "/meta/draft/discard", None),
        ("POST", "/meta/publish", {"comment": "x"}),
        ("POST", "/meta/rollback", {"version": 1}),
        ("POST", "/meta/purge", None),
        ("GET", "/meta/diff?from=1&to=draft", None),
        ("GET", "/meta/versions", None),  # issue 14: versions and diffs need the configure permission
        ("GET", "/meta/versions/1", None),
        ("GET", "/meta/diff?from=1&to=1", None),
    ]
    for method, path, body in writes:
        response = user.call(method, path, body)
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden", (method, path)
    assert admin.ok("GET", "/meta/draft/entity/company")["name"] == "company"


def _sign_in(app: Flask, username: str, password: str) -> tuple[Api, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return Api(client, None), token.group(1)


def test_cookie_session_needs_the_csrf_header(api_app: Flask, admin: Api) -> None:
    """With a session cookie, reads work; writes need X-CSRFToken, and without it they are refused."""
    define_crm(admin)
    browser, csrf = _sign_in(api_app, "admin", "admin-password")
    assert browser.ok("GET", "/meta/entities")["version"] == 1
    refused = browser.post("/records/company", {"name": "No token"})
    assert refused.status_code == 400 and error_of(refused)["code"] == "csrf_failed"
    created = browser.ok(
        "POST", "/records/company", {"name": "With token"}, status=201, headers={"X-CSRFToken": csrf}
    )
    assert created["name"] == "With token"
    names = [r["name"] for r in admin.ok("GET", "/records/company")["items"]]
    assert names == ["With token"]


def test_tokens_are_created_for_the_signed_in_user(user: Api, anonymous: Api) -> None:
    """POST /tokens returns a working token once; bad input is a 400."""
    made = user.ok("POST", "/tokens", {"name": "script", "days": 30}, status=201)
    assert made["token"].startswith("crm_") and made["expires_at"]
    other = Api(anonymous.client, made["token"])
    assert other.ok("GET", "/meta/field-types")["items"]
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "n", "days": 0},
        {"name": "n", "days": "many"},
        {"name": "n", "days": True},
    ):
        response = user.post("/tokens", body)
        assert response.status_code == 400 and error_of(response)["code"] == "bad_request", body
