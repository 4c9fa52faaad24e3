"""Rate limits per token (and signed-in user) and per address, shared through the database, with a clear 429."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth import clock
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of
from tests.platform.auth.authsupport import FakeClock

START = dt.datetime(2026, 11, 23, 9, 0, 15, tzinfo=dt.UTC)  # 15 s into a minute window


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Freeze the limiter's clock."""
    fake = FakeClock(START)
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


def limited_app(db_url: str, tmp_path: Path, **config: object) -> Flask:
    """Return an app with 3 requests a minute per token and 2 per anonymous address, unless overridden."""
    settings = {
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path),
        "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
        "SECRET_KEY": "test",
        "TESTING": True,
        "CRM_RATE_LIMIT_PER_MINUTE": 3,
        "CRM_RATE_LIMIT_IP_PER_MINUTE": 2,
        **config,
    }
    return create_app(settings)


@pytest.fixture
def small(db_url: str, tmp_path: Path, fake_clock: FakeClock) -> Iterator[Flask]:
    """An app with small limits."""
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


def test_a_token_over_its_limit_gets_429_with_retry_after(small: Flask, fake_clock: FakeClock) -> None:
    """The 4th request in a minute is refused with rate_limited and Retry-After until the window ends."""
    api = token_client(small, "ann")
    assert statuses(api, 3) == [200, 200, 200]
    refused = api.get("/meta/field-types")
    assert refused.status_code == 429
    error = error_of(refused)
    assert (
        error["code"] == "rate_limited" and error["retry_after"] == 45 and "3 per minute" in error["message"]
    )
    assert refused.headers["Retry-After"] == "45"
    assert api.call("POST", "/tokens", {"name": "x"}).status_code == 429  # writes count too
    other = token_client(small, "bob")  # same address, own token: its own budget
    assert statuses(other, 3) == [200, 200, 200]
    fake_clock.current += dt.timedelta(seconds=45)
    assert statuses(api, 4) == [200, 200, 200, 429]


def test_anonymous_calls_are_limited_per_address(small: Flask, fake_clock: FakeClock) -> None:
    """Without credentials (or with a wrong token) requests count against the address."""
    here = Api(small.test_client(), None)
    here.client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    assert statuses(here, 3, "/openapi.json") == [200, 200, 429]
    guessing = Api(here.client, "crm_guess")
    assert guessing.get("/records/customer").status_code == 429
    there = Api(small.test_client(), "crm_guess")
    there.client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
    assert [there.get("/records/customer").status_code for _ in range(3)] == [401, 401, 429]


def test_session_users_are_limited_too(small: Flask, fake_clock: FakeClock) -> None:
    """A signed-in browser has the per-user budget."""
    svc: CrmServices = small.extensions["crm"]
    create_user(svc.engine, "cat", "cat-copper-lantern-9")
    client = small.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        client.post(
            "/login", data={"username": "cat", "password": "cat-copper-lantern-9", "csrf_token": token}
        ).status_code
        == 302
    )
    assert statuses(Api(client, None), 4) == [200, 200, 200, 429]


def test_limits_are_shared_by_workers(
    db_url: str, tmp_path: Path, small: Flask, fake_clock: FakeClock
) -> None:
    """Counts live in the database, so a second app (another worker) continues the same count."""
    api = token_client(small, "dan")
    assert statuses(api, 2) == [200, 200]
    other = limited_app(db_url, tmp_path)
    try:
        assert statuses(Api(other.test_client(), api.token), 2) == [200, 429]
    finally:
        other.extensions["crm"].engine.dispose()


def test_zero_turns_limits_off(db_url: str, tmp_path: Path, fake_clock: FakeClock) -> None:
    """A limit of 0 disables that limit."""
    app = limited_app(db_url, tmp_path, CRM_RATE_LIMIT_PER_MINUTE=0, CRM_RATE_LIMIT_IP_PER_MINUTE=0)
    try:
        assert set(statuses(token_client(app, "eve"), 10)) == {200}
    finally:
        app.extensions["crm"].engine.dispose()
