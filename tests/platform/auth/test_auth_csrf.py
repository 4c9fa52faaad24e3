"""CSRF: every state-changing page needs the form token; API calls need it with a session cookie, not with a token."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of
from tests.platform.auth.authsupport import PASSWORD, FakeClock, csrf_of, login

CSRF_MESSAGE = "security token is missing or expired"


def post_routes(app: Flask, record_id: int) -> list[str]:
    """Return a URL for every page route that accepts POST (the API and static files aside)."""
    values: dict[str, Any] = {
        "entity": "customer",
        "record_id": record_id,
        "name": "approve",
        "attachment_id": 1,
        "decision": "approve",
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.rule.startswith(("/api/", "/static")):
            continue
        args = {arg: values.get(arg, "1") for arg in rule.arguments}
        urls.append(rule.build(args, append_unknown=False)[1])
    return sorted(urls)


def site(app: Flask, svc: CrmServices) -> int:
    """Publish a small entity, create one record and the user 'vera'; return the record id."""
    svc.metadata.put_document(
        "entity", "customer", {"title_field": "name", "fields": [{"name": "name", "type": "text"}]}, "t"
    )
    svc.metadata.publish("t", "csrf tests")
    vera = create_user(svc.engine, "vera", PASSWORD, is_admin=True)
    api = Api(app.test_client(), create_token(svc.engine, vera.id, "t"))
    return int(api.ok("POST", "/records/customer", {"name": "Acme"}, status=201)["id"])


def signed_in(app: Flask) -> tuple[FlaskClient, str]:
    """Return a client signed in as 'vera' and its CSRF token."""
    client = app.test_client()
    assert login(client, "vera").status_code == 302
    return client, csrf_of(client.get("/account/security").get_data(as_text=True))


def test_every_post_page_needs_the_csrf_token(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """Without the token each POST route answers 400 with a clear page; with it the request goes through."""
    record_id = site(auth_app, auth_svc)
    urls = post_routes(auth_app, record_id)
    assert {"/login", "/logout", "/account/password", "/account/totp/enrol", "/e/customer/new"} <= set(urls)
    client, token = signed_in(auth_app)
    anonymous = auth_app.test_client()
    for url in urls:
        for who in (client, anonymous):
            for data in ({}, {"csrf_token": "forged"}):
                refused = who.post(url, data=data)
                assert refused.status_code == 400, (url, refused.status_code)
                assert CSRF_MESSAGE in refused.get_data(as_text=True), url
    for url in urls:
        if url == "/logout":
            continue  # keep the session for the others; checked last
        accepted = client.post(url, data={"csrf_token": token})
        assert accepted.status_code < 500 and CSRF_MESSAGE not in accepted.get_data(as_text=True), url
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account/security").status_code == 302


def test_api_with_a_session_needs_the_csrf_header(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """Cookie-authenticated API writes need X-CSRFToken; reads do not; bearer tokens need none."""
    site(auth_app, auth_svc)
    client, token = signed_in(auth_app)
    browser = Api(client, None)
    assert browser.ok("GET", "/tokens")["items"] is not None
    for headers in ({}, {"X-CSRFToken": "forged"}):
        refused = browser.call("POST", "/tokens", {"name": "x"}, headers=headers)
        assert refused.status_code == 400 and error_of(refused)["code"] == "csrf_failed"
    browser.ok("POST", "/tokens", {"name": "from the browser"}, status=201, headers={"X-CSRFToken": token})
    bearer = Api(auth_app.test_client(), create_token(auth_svc.engine, 1, "script"))
    assert (
        bearer.ok("POST", "/records/customer", {"name": "No CSRF needed"}, status=201)["name"]
        == "No CSRF needed"
    )
