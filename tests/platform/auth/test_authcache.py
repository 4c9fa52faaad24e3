"""Token and session lookups are cached per worker; revocation is seen at once locally, within the TTL elsewhere."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.systables import api_tokens, users
from tests.platform.api.apisupport import Api

TTL = 0.5


def make_app(db_url: str, tmp_path: Path) -> Flask:
    """Return an app (one worker) with a short auth-cache lifetime."""
    return create_app(
        {
            "CRM_DATABASE_URL": db_url,
            "CRM_INSTANCE_DIR": str(tmp_path),
            "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
            "SECRET_KEY": "test",
            "TESTING": True,
            "CRM_AUTH_CACHE_SECONDS": TTL,
        }
    )


def count_token_queries(svc: CrmServices) -> list[str]:
    """Record the statements that read the token table."""
    seen: list[str] = []

    @event.listens_for(svc.engine, "before_cursor_execute")
    def _seen(_c: object, _cur: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and api_tokens.name in statement:
            seen.append(statement)

    return seen


def test_token_lookups_are_cached_and_revocation_is_immediate_in_the_same_worker(
    db_url: str, tmp_path: Path
) -> None:
    """Repeated calls read the token once; revoking through the API stops it on the next call."""
    app = make_app(db_url, tmp_path)
    svc: CrmServices = app.extensions["crm"]
    try:
        account = create_user(svc.engine, "ann", "ann-amber-kettle-42", is_admin=True)
        api = Api(app.test_client(), create_token(svc.engine, account.id, "t"))
        seen = count_token_queries(svc)
        assert [api.get("/meta/field-types").status_code for _ in range(5)] == [200] * 5
        assert len(seen) == 1
        token_id = api.ok("GET", "/tokens")["items"][0]["id"]
        assert api.delete(f"/tokens/{token_id}").status_code == 204
        assert api.get("/meta/field-types").status_code == 401
    finally:
        svc.engine.dispose()


def test_other_workers_stop_a_revoked_token_within_the_ttl(db_url: str, tmp_path: Path) -> None:
    """A second app (another worker) may serve a revoked token or deactivated user only until the TTL ends."""
    first, second = make_app(db_url, tmp_path), make_app(db_url, tmp_path)
    svc: CrmServices = first.extensions["crm"]
    try:
        account = create_user(svc.engine, "bob", "bob-violet-harbour-7")
        token = create_token(svc.engine, account.id, "t")
        other = Api(second.test_client(), token)
        assert other.get("/meta/field-types").status_code == 200
        with svc.engine.begin() as conn:  # revoked by the first worker
            conn.execute(api_tokens.delete())
        time.sleep(TTL + 0.1)
        assert other.get("/meta/field-types").status_code == 401

        token = create_token(svc.engine, account.id, "t2")
        other = Api(second.test_client(), token)
        assert other.get("/meta/field-types").status_code == 200
        with svc.engine.begin() as conn:  # deactivated by the first worker
            conn.execute(users.update().where(users.c.id == account.id).values(is_active=False))
        time.sleep(TTL + 0.1)
        assert other.get("/meta/field-types").status_code == 401
    finally:
        for app in (first, second):
            app.extensions["crm"].engine.dispose()
