"""API rate limits (Flask-Limiter): per token, signed-in user and address; shared by workers through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.ratelimits import is_expensive
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of

REDIS_URL = "redis://127.0.0.1:6379"


def limited_app(db_url: str, tmp_path: Path, **config: object) -> Flask:
    """Return an app with 3 requests a minute per token and 2 per anonymous address, unless overridden."""
    settings = {
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path),
        "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
        "SECRET_KEY": "test",
        "TESTING": True,
        "CRM_RATELIMIT": "3/minute",
        "CRM_RATELIMIT_ANONYMOUS": "2/minute",
        **config,
    }
    return create_app(settings)


@pytest.fixture
def small(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app with small limits, counted in memory."""
    app = limited_app(db_url, tmp_path)
    yield app
    app.extensions["crm"].engine.dispose()


def token_client(app: Flask, username: str, ip: str = "10.0.0.1") -> Api:
    """Return a client of a new user's token, calling from ``ip``."""
    svc: CrmServices = app.extensions["crm"]
    account = create_user(svc.engine, username, f"{username}-copper-lantern-9")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return Api(client, create_token(svc.engine, account.id, "t"))


def statuses(api: Api, count: int, path: str = "/meta/field-types") -> list[int]:
    """Return the statuses of ``count`` GETs of ``path``."""
    return [api.get(path).status_code for _ in range(count)]


def test_a_token_over_its_limit_gets_429_with_retry_after(small: Flask) -> None:
    """The 4th request in a minute is refused with rate_limited and Retry-After until the window ends."""
    api = token_client(small, "ann")
    assert statuses(api, 3) == [200, 200, 200]
    refused = api.get("/meta/field-types")
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited" and "3 per 1 minute" in error["message"]
    assert 1 <= error["retry_after"] <= 60 and refused.headers["Retry-After"] == str(error["retry_after"])
    assert api.call("POST", "/tokens", {"name": "x"}).status_code == 429  # writes count too
    zh = api.get("/meta/field-types?lang=zh-CN")
    assert "请求过多" in error_of(zh)["message"]
    other = token_client(small, "bob")  # same address, own token: its own budget
    assert statuses(other, 3) == [200, 200, 200]


def test_anonymous_calls_are_limited_per_address(small: Flask) -> None:
    """Without credentials (or with a wrong token) requests count against the address."""
    here = Api(small.test_client(), None)
    here.client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    assert statuses(here, 3, "/openapi.json") == [200, 200, 429]
    guessing = Api(here.client, "crm_guess")
    assert guessing.get("/records/customer").status_code == 429
    there = Api(small.test_client(), "crm_guess")
    there.client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
    assert [there.get("/records/customer").status_code for _ in range(3)] == [401, 401, 429]


def test_session_users_are_limited_too(small: Flask) -> None:
    """A signed-in browser has the per-user budget."""
    svc: CrmServices = small.extensions["crm"]
    create_user(svc.engine, "cat", "cat-copper-lantern-9")
    client = small.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login", data={"username": "cat", "password": "cat-copper-lantern-9", "csrf_token": token}
    )
    assert signed_in.status_code == 302
    assert statuses(Api(client, None), 4) == [200, 200, 200, 429]


def test_expensive_routes_have_their_own_stricter_limit(db_url: str, tmp_path: Path) -> None:
    """Exports, imports, reports and publishing count against a per-route limit besides the client's."""
    assert is_expensive("/api/v1/records/<entity>/export", "/api/v1")
    assert is_expensive("/api/v1/meta/publish", "/api/v1")
    assert not is_expensive("/api/v1/records/<entity>", "/api/v1")
    app = limited_app(db_url, tmp_path, CRM_RATELIMIT="100/minute", CRM_RATELIMIT_EXPENSIVE="1/minute")
    try:
        api = token_client(app, "fay")
        assert api.get("/audit/export").status_code != 429
        assert api.get("/audit/export").status_code == 429
        assert statuses(api, 3) == [200, 200, 200]  # other routes are not affected
    finally:
        app.extensions["crm"].engine.dispose()


def test_limits_are_shared_by_workers_through_redis(db_url: str, tmp_path: Path) -> None:
    """With Redis storage a second app (another worker) continues the same count; in memory it does not."""
    prefix = f"crm-test-{uuid.uuid4().hex}"
    shared = {"CRM_RATELIMIT_STORAGE": REDIS_URL, "CRM_RATELIMIT_PREFIX": prefix}
    first = limited_app(db_url, tmp_path, **shared)
    second = limited_app(db_url, tmp_path, **shared)
    try:
        api = token_client(first, "dan")
        assert statuses(api, 2) == [200, 200]
        assert statuses(Api(second.test_client(), api.token), 2) == [200, 429]
        assert redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")  # the counts really are in Redis
    finally:
        for app in (first, second):
            app.extensions["crm"].engine.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def test_zero_turns_limits_off(db_url: str, tmp_path: Path) -> None:
    """A limit of 0 disables that limit."""
    app = limited_app(db_url, tmp_path, CRM_RATELIMIT="0", CRM_RATELIMIT_ANONYMOUS="0")
    try:
        assert set(statuses(token_client(app, "eve"), 10)) == {200}
    finally:
        app.extensions["crm"].engine.dispose()


def test_a_mistyped_limit_stops_the_start(db_url: str, tmp_path: Path) -> None:
    """A limit that is not like '300/second' is refused when the app is built, naming the setting."""
    with pytest.raises(ValueError, match="CRM_RATELIMIT_EXPENSIVE"):
        limited_app(db_url, tmp_path, CRM_RATELIMIT_EXPENSIVE="lots")
