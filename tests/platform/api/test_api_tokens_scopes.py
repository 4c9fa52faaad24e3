"""API tokens: scopes enforced per endpoint category, expiry, listing without secrets, revocation, last use."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.auth import clock
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import api_tokens
from tests.platform.api.apisupport import Api, define_crm, error_of
from tests.platform.auth.authsupport import FakeClock

START = dt.datetime(2026, 11, 23, 9, 0, 10, tzinfo=dt.UTC)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Freeze the clock that token expiry, last use and rate limits read."""
    fake = FakeClock(START)
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


def scoped(app: Flask, svc: CrmServices, username: str, *scopes: str, admin: bool = False) -> Api:
    """Return a client of a new user whose token has only ``scopes``."""
    account = create_user(svc.engine, username, f"{username}-password", is_admin=admin)
    return Api(app.test_client(), create_token(svc.engine, account.id, "scoped", scopes=scopes))


def refused_for(api: Api, method: str, path: str, body: object = None) -> str:
    """Return the scope named by a 403 insufficient_scope answer."""
    response = api.call(method, path, body)
    error = error_of(response)
    assert response.status_code == 403 and error["code"] == "insufficient_scope", (method, path, error)
    assert error["required_scope"] in error["message"]
    return str(error["required_scope"])


def test_scopes_are_enforced_by_endpoint_category(api_app: Flask, api_svc: CrmServices, admin: Api) -> None:
    """Reads and writes of records and of metadata each need their scope; user administration needs 'admin'."""
    define_crm(admin)
    company = admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)
    reader = scoped(api_app, api_svc, "reader", "records:read", admin=True)
    assert reader.ok("GET", "/records/company")["items"][0]["name"] == "Acme"
    assert reader.ok("GET", f"/records/company/{company['id']}")["name"] == "Acme"
    assert refused_for(reader, "POST", "/records/company", {"name": "x"}) == "records:write"
    assert refused_for(reader, "PATCH", f"/records/company/{company['id']}", {"name": "x"}) == "records:write"
    assert refused_for(reader, "DELETE", f"/records/company/{company['id']}") == "records:write"
    assert refused_for(reader, "GET", "/meta/entities") == "meta:read"
    assert refused_for(reader, "POST", "/users/1/password", {"password": "whatever-123"}) == "admin"

    meta = scoped(api_app, api_svc, "metaonly", "meta:read", "meta:write", admin=True)
    assert meta.ok("GET", "/meta/entities")["items"]
    assert meta.ok("GET", "/meta/draft") is not None
    assert meta.ok("POST", "/meta/draft/validate") is not None
    assert refused_for(meta, "GET", "/records/company") == "records:read"
    assert refused_for(meta, "GET", "/attachments/1") == "records:read"

    writer = scoped(api_app, api_svc, "writer", "records:write", "meta:read")
    assert writer.ok("POST", "/records/company", {"name": "Beta"}, status=201)["name"] == "Beta"
    assert refused_for(writer, "PUT", "/meta/draft/entity/thing", {"fields": []}) == "meta:write"
    # Scopes limit a token; they never add rights the user lacks.
    full_user = scoped(api_app, api_svc, "plain", "records:read", "meta:read", "meta:write")
    assert error_of(full_user.call("PUT", "/meta/draft/entity/thing", {"fields": []}))["code"] == "forbidden"
    assert full_user.ok("GET", "/openapi.json")["openapi"]


def test_tokens_without_stored_scopes_have_all(api_app: Flask, api_svc: CrmServices, admin: Api) -> None:
    """Tokens from before scopes (NULL) and tokens created without a choice may do everything."""
    define_crm(admin)
    with api_svc.engine.begin() as conn:
        conn.execute(api_tokens.update().values(scopes=None))
    admin.ok("POST", "/records/company", {"name": "Legacy"}, status=201)
    admin.ok("PUT", "/meta/draft/entity/thing", {"fields": [{"name": "n", "type": "text"}]})
    listed = admin.ok("GET", "/tokens")["items"]
    assert listed[0]["scopes"] == ["records:read", "records:write", "meta:read", "meta:write", "admin"]


def test_creating_tokens_with_scopes(user: Api, admin: Api, anonymous: Api) -> None:
    """Scopes are chosen at creation; unknown ones are refused; 'admin' is for administrators."""
    made = user.ok("POST", "/tokens", {"name": "reader", "scopes": ["records:read"]}, status=201)
    assert made["scopes"] == ["records:read"]
    assert user.ok("POST", "/tokens", {"name": "default"}, status=201)["scopes"] == [
        "records:read",
        "records:write",
        "meta:read",
        "meta:write",
    ]
    unknown = user.call("POST", "/tokens", {"name": "x", "scopes": ["records:read", "everything"]})
    assert unknown.status_code == 422 and "everything" in str(error_of(unknown)["details"])
    for bad in ("records:read", [1], {"a": 1}):
        assert user.call("POST", "/tokens", {"name": "x", "scopes": bad}).status_code == 400, bad
    assert user.call("POST", "/tokens", {"name": "x", "scopes": []}).status_code == 422
    escalate = user.call("POST", "/tokens", {"name": "x", "scopes": ["admin"]})
    assert escalate.status_code == 403 and "admin" in error_of(escalate)["message"]
    assert admin.ok("POST", "/tokens", {"name": "a", "scopes": ["admin"]}, status=201)["scopes"] == ["admin"]

    # A token may create tokens, but not with scopes it lacks itself.
    reader = Api(anonymous.client, made["token"])
    assert reader.ok("POST", "/tokens", {"name": "narrow"}, status=201)["scopes"] == ["records:read"]
    wider = reader.call("POST", "/tokens", {"name": "wide", "scopes": ["records:write"]})
    assert wider.status_code == 403 and "records:write" in error_of(wider)["message"]


def test_expired_tokens_answer_token_expired(
    api_app: Flask, api_svc: CrmServices, fake_clock: FakeClock, user: Api
) -> None:
    """After its expiry a token gets 401 token_expired (unknown tokens stay 401 unauthorized)."""
    made = user.ok("POST", "/tokens", {"name": "short", "days": 1}, status=201)
    assert made["expires_at"] == "2026-11-24T09:00:10Z"
    short = Api(api_app.test_client(), made["token"])
    assert short.ok("GET", "/meta/field-types")["items"]
    fake_clock.current += dt.timedelta(days=1, seconds=1)
    expired = short.call("GET", "/meta/field-types")
    assert expired.status_code == 401 and error_of(expired)["code"] == "token_expired"
    assert short.call("POST", "/tokens", {"name": "renew"}).status_code == 401
    unknown = Api(api_app.test_client(), "crm_nope").call("GET", "/meta/field-types")
    assert unknown.status_code == 401 and error_of(unknown)["code"] == "unauthorized"
    listed = {t["name"]: t for t in user.ok("GET", "/tokens")["items"]}
    assert listed["short"]["expired"] is True and listed["tests"]["expired"] is False


def test_listing_never_shows_secrets_and_records_last_use(
    api_app: Flask, api_svc: CrmServices, fake_clock: FakeClock, user: Api, admin: Api
) -> None:
    """GET /tokens lists one's own tokens with metadata only; administrators may list everyone's."""
    made = user.ok("POST", "/tokens", {"name": "script", "scopes": ["meta:read"]}, status=201)
    listed = user.ok("GET", "/tokens")["items"]
    assert [t["name"] for t in listed] == ["script", "tests"]
    text = str(listed)
    assert made["token"] not in text and "token_hash" not in text and "crm_" not in text
    script = listed[0]
    assert (
        script["last_used_at"] is None and script["scopes"] == ["meta:read"] and script["username"] == "alice"
    )
    fake_clock.current += dt.timedelta(minutes=5)
    Api(api_app.test_client(), made["token"]).ok("GET", "/meta/field-types")
    again = {t["name"]: t for t in user.ok("GET", "/tokens")["items"]}
    assert again["script"]["last_used_at"] == "2026-11-23T09:05:10Z"
    assert user.call("GET", "/tokens?all=true").status_code == 403
    everyone = admin.ok("GET", "/tokens?all=true")["items"]
    assert {t["username"] for t in everyone} == {"alice", "admin"}
    assert {t["username"] for t in admin.ok("GET", "/tokens")["items"]} == {"admin"}


def test_revoking_tokens(api_app: Flask, api_svc: CrmServices, user: Api, admin: Api) -> None:
    """Owners revoke their tokens, administrators anyone's; others get 404; a revoked token is refused."""
    made = user.ok("POST", "/tokens", {"name": "temp"}, status=201)
    temp = Api(api_app.test_client(), made["token"])
    temp_id = next(t["id"] for t in user.ok("GET", "/tokens")["items"] if t["name"] == "temp")
    other = scoped(api_app, api_svc, "mallory", "records:read", "records:write", "meta:read", "meta:write")
    assert error_of(other.call("DELETE", f"/tokens/{temp_id}"))["code"] == "not_found"
    assert temp.ok("GET", "/meta/field-types")["items"]
    user.ok("DELETE", f"/tokens/{temp_id}", status=204)
    assert temp.call("GET", "/meta/field-types").status_code == 401
    assert user.call("DELETE", f"/tokens/{temp_id}").status_code == 404
    assert user.call("DELETE", "/tokens/abc").status_code == 404
    alice_tests = next(t["id"] for t in user.ok("GET", "/tokens")["items"])
    admin.ok("DELETE", f"/tokens/{alice_tests}", status=204)
    assert user.call("GET", "/tokens").status_code == 401
    with api_svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar_one() == 2
