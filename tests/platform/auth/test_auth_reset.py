"""Password reset by an administrator (POST /api/v1/users/<id>/password) and the forced change at next sign-in."""

from __future__ import annotations

import re

from flask import Flask

from crm_platform.auth.users import User, create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of
from tests.platform.auth.authsupport import PASSWORD, FakeClock, login, post_form

TEMPORARY = "temporary-pass-1"


def admin_api(app: Flask, svc: CrmServices) -> Api:
    """Return an API client of a new administrator."""
    admin = create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    return Api(app.test_client(), create_token(svc.engine, admin.id, "admin"))


def reset(api: Api, user: User, **body: object) -> dict[str, object]:
    """Reset ``user``'s password through the API (must succeed)."""
    result: dict[str, object] = api.ok("POST", f"/users/{user.id}/password", {"password": TEMPORARY, **body})
    return result


def test_reset_forces_a_new_password_at_next_sign_in(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """The temporary password leads to the new-password form; only after it is the user signed in."""
    wes = create_user(auth_svc.engine, "wes", PASSWORD)
    session_before = auth_app.test_client()
    assert login(session_before, "wes").status_code == 302
    assert reset(admin_api(auth_app, auth_svc), wes) == {
        "id": wes.id,
        "username": "wes",
        "must_change_password": True,
    }
    assert session_before.get("/account/security").status_code == 302  # the reset ended the old session
    assert login(auth_app.test_client(), "wes").status_code == 401  # the old password is gone

    client = auth_app.test_client()
    first = login(client, "wes", TEMPORARY)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/new-password")
    assert client.get("/account/security").status_code == 302
    page = client.get("/login/new-password").get_data(as_text=True)
    assert "An administrator reset your password" in page
    same = post_form(
        client,
        "/login/new-password",
        "/login/new-password",
        {"new_password": "short", "confirm_password": "short"},
    )
    assert same.status_code == 422 and "at least 10 characters" in same.get_data(as_text=True)
    kept = post_form(
        client,
        "/login/new-password",
        "/login/new-password",
        {"new_password": TEMPORARY, "confirm_password": TEMPORARY},
    )
    assert kept.status_code == 422 and "must differ from the current one" in kept.get_data(as_text=True)
    done = post_form(
        client,
        "/login/new-password",
        "/login/new-password",
        {"new_password": "my-own-pass-22", "confirm_password": "my-own-pass-22"},
    )
    assert done.status_code == 302 and not done.headers["Location"].endswith("/login/new-password")
    assert client.get("/account/security").status_code == 200
    assert login(auth_app.test_client(), "wes", "my-own-pass-22").status_code == 302  # no more forced change
    assert login(auth_app.test_client(), "wes", TEMPORARY).status_code == 401


def test_reset_without_forced_change(auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock) -> None:
    """must_change=false sets a password the user keeps."""
    xia = create_user(auth_svc.engine, "xia", PASSWORD)
    assert reset(admin_api(auth_app, auth_svc), xia, must_change=False)["must_change_password"] is False
    response = login(auth_app.test_client(), "xia", TEMPORARY)
    assert response.status_code == 302 and not response.headers["Location"].endswith("/login/new-password")


def test_reset_also_lifts_a_lock(auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock) -> None:
    """A locked-out user gets back in with the password the administrator set."""
    yan = create_user(auth_svc.engine, "yan", PASSWORD)
    for _ in range(5):
        login(auth_app.test_client(), "yan", "wrong-password-0")
    assert login(auth_app.test_client(), "yan").status_code == 429
    reset(admin_api(auth_app, auth_svc), yan, must_change=False)
    assert login(auth_app.test_client(), "yan", TEMPORARY).status_code == 302


def test_reset_is_for_administrators_with_valid_input(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """403 for normal users, 404 for unknown users, 400 for bad bodies, 422 for a weak password."""
    api = admin_api(auth_app, auth_svc)
    zoe = create_user(auth_svc.engine, "zoe", PASSWORD)
    normal = Api(auth_app.test_client(), create_token(auth_svc.engine, zoe.id, "mine"))
    refused = normal.call("POST", f"/users/{zoe.id}/password", {"password": TEMPORARY})
    assert refused.status_code == 403 and error_of(refused)["code"] in ("forbidden", "insufficient_scope")
    for path in ("/users/999/password", "/users/abc/password", "/users/0/password"):
        assert error_of(api.call("POST", path, {"password": TEMPORARY}))["code"] == "not_found"
    for body in ({}, {"password": 5}, {"password": TEMPORARY, "must_change": "yes"}):
        assert api.call("POST", f"/users/{zoe.id}/password", body).status_code == 400, body
    weak = api.call("POST", f"/users/{zoe.id}/password", {"password": "zoe"})
    assert weak.status_code == 422 and [d["path"] for d in error_of(weak)["details"]] == [
        "password",
        "password",
    ]
    assert re.search("at least 10", str(error_of(weak)["details"]))
    assert login(auth_app.test_client(), "zoe").status_code == 302  # nothing changed
