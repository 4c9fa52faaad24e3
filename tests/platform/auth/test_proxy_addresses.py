"""The client address behind reverse proxies: trusted from X-Forwarded-For only when configured."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from crm_platform.auth.users import create_user
from metamodel.systables import audit_log
from tests.platform.auth.authsupport import PASSWORD, client_at, login
from tests.platform.auth.conftest import make_app


def _sign_in_origins(db_url: str, tmp_path: Path, proxies: int) -> list[str | None]:
    app = make_app(db_url, tmp_path, CRM_TRUSTED_PROXIES=proxies)
    svc = app.extensions["crm"]
    try:
        create_user(svc.engine, "pat", PASSWORD)
        client = client_at(app, "10.9.9.9")  # the proxy's own address
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.23"
        assert login(client, "pat").status_code == 302
        with svc.engine.connect() as conn:
            rows = conn.execute(select(audit_log.c.origin).where(audit_log.c.action == "auth.login")).all()
        return [row.origin for row in rows]
    finally:
        svc.engine.dispose()


def test_forwarded_address_is_used_behind_one_trusted_proxy(db_url: str, tmp_path: Path) -> None:
    """With CRM_TRUSTED_PROXIES=1 the audit log records the address the proxy forwarded."""
    assert _sign_in_origins(db_url, tmp_path, proxies=1) == ["198.51.100.23"]


def test_forwarded_header_is_ignored_without_trusted_proxies(db_url: str, tmp_path: Path) -> None:
    """By default a client cannot forge its address with X-Forwarded-For."""
    assert _sign_in_origins(db_url, tmp_path, proxies=0) == ["10.9.9.9"]
