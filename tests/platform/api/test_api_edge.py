"""The API's edge under change and concurrency: defaults, deep offsets, metadata changes, SQLite writers."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import NullPool, create_engine, event, make_url, text

from crm_platform.app import create_app
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of, options

MEMBER = {
    "name": "member",
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True},
        {
            "name": "tier",
            "type": "select",
            "required": True,
            "default": "standard",
            "options": options("standard", "gold"),
        },
        {"name": "points", "type": "integer"},
    ],
}


def settings(db_url: str, tmp_path: Path) -> dict[str, Any]:
    """Return the settings of one worker on the test database."""
    return {
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path),
        "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
        "SECRET_KEY": "test",
        "TESTING": True,
    }


@pytest.fixture
def member(admin: Api) -> Api:
    """Publish the member entity; return the administrator's client."""
    admin.define("entity", "member", MEMBER)
    admin.publish("members")
    return admin


def test_a_post_without_a_field_that_has_a_default_gets_the_default(member: Api) -> None:
    """A required field with a default may be left out; the default is stored."""
    created = member.ok("POST", "/records/member", {"name": "Ann"}, status=201)
    assert created["tier"] == "standard"
    assert member.ok("POST", "/records/member", {"name": "Bob", "tier": "gold"}, status=201)["tier"] == "gold"
    refused = member.post("/records/member", {"tier": "gold"})
    assert refused.status_code == 422 and "name" in {d["path"] for d in error_of(refused)["details"]}


def test_deep_offsets_are_refused_with_a_pointer_to_keyset_paging(member: Api) -> None:
    """OFFSET stops at 10,000; the error says to page with the cursor, in the reader's language."""
    assert member.get("/records/member?offset=10000").status_code == 200
    refused = member.get("/records/member?offset=10001")
    assert refused.status_code == 400
    error = error_of(refused)
    assert "cursor" in error["message"] and error["details"][0]["code"] == "offset_too_large"
    assert "游标" in error_of(member.get("/records/member?offset=50000&lang=zh-CN"))["message"]
    assert member.get("/records/member?page=10000&limit=500").status_code == 400


def test_a_worker_serves_a_field_renamed_by_another_worker_at_once(
    api_app: Flask, member: Api, db_url: str, tmp_path: Path
) -> None:
    """The request's transaction sees the new version and the request runs again: no UndefinedColumn 500."""
    record = member.ok("POST", "/records/member", {"name": "Ann", "points": 3}, status=201)
    assert member.ok("GET", f"/records/member/{record['id']}")["points"] == 3  # this worker holds version 1
    other = create_app(settings(db_url, tmp_path))
    try:
        other_api = Api(other.test_client(), member.token)
        doc = other_api.ok("GET", "/meta/draft/entity/member")
        doc["fields"][2]["name"] = "score"
        other_api.define("entity", "member", doc)
        other_api.publish("rename points")
        # At once, without waiting for this worker to notice: reads, lists and writes use the new name.
        got = member.ok("GET", f"/records/member/{record['id']}")
        assert got["score"] == 3 and "points" not in got
        assert member.ok("GET", "/records/member?score__gt=1")["items"][0]["id"] == record["id"]
        patched = member.ok("PATCH", f"/records/member/{record['id']}", {"score": 4})
        assert patched["score"] == 4
        other_api.ok("POST", "/meta/rollback", {"version": 1}, status=201)
        assert member.ok("GET", f"/records/member/{record['id']}")["points"] == 4
    finally:
        other.extensions["crm"].engine.dispose()


@pytest.fixture
def sqlite_only(db_url: str) -> Iterator[str]:
    """Skip unless the test database is SQLite; yield its file path."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    yield db_url.removeprefix("sqlite:///")


def test_sqlite_writers_wait_their_turn(
    sqlite_only: str, api_app: Flask, api_svc: CrmServices, member: Api
) -> None:
    """Six threads updating and creating at once: every request succeeds, none is 'database is locked'."""
    record = member.ok("POST", "/records/member", {"name": "Ann", "points": 0}, status=201)
    statuses: list[int] = []

    def work(index: int) -> None:
        client = Api(api_app.test_client(), member.token)
        for step in range(8):
            if step % 2:
                response = client.post("/records/member", {"name": f"w{index}-{step}"})
            else:
                response = client.patch(f"/records/member/{record['id']}", {"points": index * 100 + step})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 48 and set(statuses) <= {200, 201}, statuses


def test_a_lock_not_had_in_time_is_503_with_retry_after(
    sqlite_only: str, api_app: Flask, api_svc: CrmServices, member: Api
) -> None:
    """Another process holds SQLite's write lock past the busy timeout: 503 busy, Retry-After, not 500."""
    record = member.ok("POST", "/records/member", {"name": "Ann"}, status=201)

    @event.listens_for(api_svc.engine, "connect")
    def _short_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    api_svc.engine.dispose()  # new connections wait 50 ms for a lock
    holder = sqlite3.connect(sqlite_only, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        refused = member.client.patch(
            f"/api/v1/records/member/{record['id']}",
            json={"points": 1},
            headers={"Authorization": f"Bearer {member.token}"},
        )
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert error_of(refused)["code"] == "busy"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert member.patch(f"/records/member/{record['id']}", {"points": 1}).status_code == 200


def test_unversioned_patches_change_only_their_fields_and_an_entity_can_require_versions(member: Api) -> None:
    """Unversioned PATCH: never stale, touches only what it sends. With require_version: 428 until If-Match."""
    record = member.ok("POST", "/records/member", {"name": "Ann", "points": 1}, status=201)
    path = f"/records/member/{record['id']}"
    member.ok("PATCH", path, {"points": 2})
    assert member.ok("PATCH", path, {"tier": "gold"}) | {"points": 2} == member.ok("GET", path)
    stale = member.patch(path, {"points": 3}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    member.define("entity", "member", {**MEMBER, "require_version": True})
    member.publish("versions required")
    refused = member.patch(path, {"points": 3})
    assert refused.status_code == 428 and error_of(refused)["code"] == "version_required"
    assert member.delete(path).status_code == 428
    etag = member.get(path).headers["ETag"]
    assert member.ok("PATCH", path, {"points": 3}, headers={"If-Match": etag})["points"] == 3


def test_a_connection_the_server_dropped_is_replaced_without_an_error(
    db_url: str, api_svc: CrmServices, member: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """No ping per checkout: a dropped connection fails once inside the request, which runs again."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL server-side disconnects")
    record = member.ok("POST", "/records/member", {"name": "Ann"}, status=201)
    admin = create_engine(db_url.split("?")[0], poolclass=NullPool)
    name = make_url(db_url).query["application_name"]
    try:
        with admin.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": name},
            )
    finally:
        admin.dispose()
    with caplog.at_level("INFO", logger="crm_platform.consistency"):
        assert member.ok("GET", f"/records/member/{record['id']}")["name"] == "Ann"
    assert "running it again" in caplog.text
