"""Session cookies: HttpOnly, SameSite=Lax, Secure on request, a limited lifetime, strong session protection."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from flask import Flask

from crm_platform.auth.users import create_user
from crm_platform.config import load_settings
from crm_platform.services import CrmServices
from tests.platform.auth.authsupport import PASSWORD, FakeClock, login, post_form
from tests.platform.auth.conftest import make_app


def session_cookie(headers: list[str]) -> list[str]:
    """Return the attributes of the session cookie set by a response."""
    found = [h for h in headers if h.startswith("session=")]
    assert len(found) == 1, headers
    return [part.strip() for part in found[0].split(";")]


def test_session_cookie_flags(auth_app: Flask, auth_svc: CrmServices) -> None:
    """Signing in sets an HttpOnly, SameSite=Lax browser-session cookie; not Secure by default (plain HTTP)."""
    create_user(auth_svc.engine, "lou", PASSWORD)
    response = login(auth_app.test_client(), "lou")
    assert response.status_code == 302
    flags = session_cookie(response.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Secure" not in flags
    assert not [f for f in flags if f.startswith(("Expires=", "Max-Age="))]  # gone when the browser closes


def test_sessions_end_after_their_lifetime(db_url: str, tmp_path: Path, fake_clock: FakeClock) -> None:
    """A session signed longer ago than PERMANENT_SESSION_LIFETIME is refused."""
    app = make_app(db_url, tmp_path, PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=1))
    try:
        create_user(app.extensions["crm"].engine, "lea", PASSWORD)
        client = app.test_client()
        assert login(client, "lea").status_code == 302
        assert client.get("/account/security").status_code == 200
        time.sleep(2.2)
        assert client.get("/account/security").status_code == 302
    finally:
        app.extensions["crm"].engine.dispose()


def test_secure_cookies_and_lifetime_from_settings(
    db_url: str, tmp_path: Path, fake_clock: FakeClock
) -> None:
    """CRM_SECURE_COOKIES=1 marks cookies Secure; CRM_SESSION_HOURS sets their lifetime."""
    settings = load_settings(
        {
            "CRM_SECURE_COOKIES": "1",
            "CRM_SESSION_HOURS": "2",
            "CRM_INSTANCE_DIR": str(tmp_path),
            "CRM_SECRET_KEY": "k",
        }
    )
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_COOKIE_HTTPONLY"] and settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SESSION_PROTECTION"] == "strong"
    assert settings["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=2)
    defaults = load_settings({"CRM_INSTANCE_DIR": str(tmp_path), "CRM_SECRET_KEY": "k"})
    assert not defaults["SESSION_COOKIE_SECURE"] and defaults["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(
        hours=12
    )
    app = make_app(
        db_url, tmp_path, SESSION_COOKIE_SECURE=True, PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=2)
    )
    try:
        create_user(app.extensions["crm"].engine, "max", PASSWORD)
        client = app.test_client()
        response = login(client, "max")
        flags = session_cookie(response.headers.getlist("Set-Cookie"))
        assert "Secure" in flags and "HttpOnly" in flags and "SameSite=Lax" in flags
    finally:
        app.extensions["crm"].engine.dispose()


def test_a_session_moved_to_another_browser_is_dropped(auth_app: Flask, auth_svc: CrmServices) -> None:
    """Strong session protection: the same cookie from another user agent is signed out."""
    create_user(auth_svc.engine, "ned", PASSWORD)
    client = auth_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = "browser-one"
    assert login(client, "ned").status_code == 302
    assert client.get("/account/security").status_code == 200
    client.environ_base["HTTP_USER_AGENT"] = "somebody-else"
    moved = client.get("/account/security")
    assert moved.status_code == 302 and "/login" in moved.headers["Location"]


def test_changing_the_password_signs_out_other_sessions(auth_app: Flask, auth_svc: CrmServices) -> None:
    """After a password change the session that changed it stays signed in; the others end."""
    create_user(auth_svc.engine, "oli", PASSWORD)
    mine, other = auth_app.test_client(), auth_app.test_client()
    assert login(mine, "oli").status_code == 302 and login(other, "oli").status_code == 302
    data = {
        "current_password": PASSWORD,
        "new_password": "brand-new-pass-2",
        "confirm_password": "brand-new-pass-2",
    }
    changed = post_form(mine, "/account/security", "/account/password", data)
    assert changed.status_code == 302
    assert mine.get("/account/security").status_code == 200
    assert other.get("/account/security").status_code == 302
    assert login(auth_app.test_client(), "oli", "brand-new-pass-2").status_code == 302


def test_password_change_form_explains_each_problem(auth_app: Flask, auth_svc: CrmServices) -> None:
    """Wrong current password, a too-short or mismatched new one: 422 with a clear message, nothing changed."""
    create_user(auth_svc.engine, "pam", PASSWORD)
    client = auth_app.test_client()
    login(client, "pam")
    cases = [
        (
            {
                "current_password": "wrong-one-123",
                "new_password": "brand-new-pass-2",
                "confirm_password": "brand-new-pass-2",
            },
            "The current password is wrong.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "at least 10 characters",
        ),
        (
            {"current_password": PASSWORD, "new_password": "pam", "confirm_password": "pam"},
            "must not be your user name",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "brand-new-pass-2",
                "confirm_password": "brand-new-pass-3",
            },
            "differ",
        ),
    ]
    for data, message in cases:
        response = post_form(client, "/account/security", "/account/password", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), data
    assert login(auth_app.test_client(), "pam").status_code == 302
