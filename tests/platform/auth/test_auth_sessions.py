"""Server-side sessions and bearer tokens (issue 14, safety 2 and 3): a captured cookie stops working
after sign-out, a password change or a deactivation; a bearer header never rides on a session cookie."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_token, create_user, set_active, set_password
from crm_platform.cli import cli
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import error_of
from tests.platform.auth.authsupport import PASSWORD, FakeClock, csrf_of, login, post_form
from tests.platform.auth.test_auth_csrf import signed_in, site

NEW_PASSWORD = "brand-new-pass-2"


def captured(app: Flask, client: FlaskClient) -> FlaskClient:
    """Return another browser holding a copy of ``client``'s session cookie (as a thief would)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def signed_out(client: FlaskClient) -> bool:
    """Whether ``client`` is sent to the sign-in page."""
    response = client.get("/account/security")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_session_on_the_server(auth_app: Flask, auth_svc: CrmServices) -> None:
    create_user(auth_svc.engine, "lou", PASSWORD)
    client = auth_app.test_client()
    assert login(client, "lou").status_code == 302
    thief = captured(auth_app, client)
    assert not signed_out(thief)  # the copy works while the session lasts
    token = csrf_of(client.get("/account/security").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert signed_out(thief)
    assert signed_out(client)


def test_a_password_change_ends_captured_sessions(auth_app: Flask, auth_svc: CrmServices) -> None:
    create_user(auth_svc.engine, "pia", PASSWORD)
    mine = auth_app.test_client()
    assert login(mine, "pia").status_code == 302
    before = captured(auth_app, mine)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert post_form(mine, "/account/security", "/account/password", data).status_code == 302
    assert not signed_out(mine)
    assert signed_out(before)  # the cookie from before the change is dead, even in the same browser
    after = captured(auth_app, mine)
    set_password(auth_svc.engine, "pia", PASSWORD + "x")  # an administrator's reset ends every session
    assert signed_out(after) and signed_out(mine)


def test_deactivation_ends_sessions(auth_app: Flask, auth_svc: CrmServices) -> None:
    create_user(auth_svc.engine, "dee", PASSWORD)
    client = auth_app.test_client()
    assert login(client, "dee").status_code == 302
    thief = captured(auth_app, client)
    set_active(auth_svc.engine, "dee", False)
    assert signed_out(client) and signed_out(thief)
    set_active(auth_svc.engine, "dee", True)
    assert signed_out(thief)  # reactivation does not bring old sessions back
    assert login(auth_app.test_client(), "dee").status_code == 302


def test_an_invalid_bearer_token_is_401_even_with_a_session(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    site(auth_app, auth_svc)
    client, _ = signed_in(auth_app)
    for header in ("Bearer not-a-token", "Bearer ", "bearer"):
        headers = {"Authorization": header}
        # Before: the cookie signed the request in and the bogus header skipped the CSRF check.
        forged = client.post("/api/v1/records/customer", json={"name": "Forged"}, headers=headers)
        assert forged.status_code == 401, (header, forged.get_data(as_text=True))
        assert error_of(forged)["code"] == "unauthorized"
        assert client.get("/api/v1/records/customer", headers=headers).status_code == 401
        page = client.post("/account/totp/enrol", headers=headers)
        assert page.status_code == 401 and error_of(page)["code"] == "unauthorized"
        assert page.headers["WWW-Authenticate"].startswith("Bearer")
    names = [r["name"] for r in client.get("/api/v1/records/customer").get_json()["items"]]
    assert names == ["Acme"]


def test_a_bearer_token_never_combines_with_the_session(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    site(auth_app, auth_svc)  # vera, an administrator, signs in with the browser
    client, _ = signed_in(auth_app)
    other = create_user(auth_svc.engine, "otto", PASSWORD)
    token = create_token(auth_svc.engine, other.id, "otto's script")
    headers = {"Authorization": f"Bearer {token}"}
    mine = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    assert [item["name"] for item in mine] == ["otto's script"]  # otto's view, not vera's


def test_crm_set_active_off_ends_sessions(
    crm_env: dict[str, str], auth_app: Flask, auth_svc: CrmServices
) -> None:
    create_user(auth_svc.engine, "cli_user", PASSWORD)
    client = auth_app.test_client()
    assert login(client, "cli_user").status_code == 302
    runner = CliRunner()
    off = runner.invoke(cli, ["set-active", "cli_user", "--off"])
    assert off.exit_code == 0, off.output
    assert signed_out(client)
    assert login(auth_app.test_client(), "cli_user").status_code == 401
    assert runner.invoke(cli, ["set-active", "cli_user", "--on"]).exit_code == 0
    assert login(auth_app.test_client(), "cli_user").status_code == 302
    assert runner.invoke(cli, ["set-active", "nobody", "--off"]).exit_code != 0


def test_the_server_ends_sessions_older_than_their_lifetime(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """The row's age counts, not only the cookie's signature: a session cannot outlive CRM_SESSION_HOURS."""
    create_user(auth_svc.engine, "old", PASSWORD)
    client = auth_app.test_client()
    assert login(client, "old").status_code == 302
    fake_clock.advance(seconds=auth_app.permanent_session_lifetime.total_seconds() - 5)
    assert not signed_out(client)
    fake_clock.advance(seconds=10)
    assert signed_out(client)


def test_an_anonymous_api_write_is_401_not_a_csrf_failure(auth_app: Flask, auth_svc: CrmServices) -> None:
    client = auth_app.test_client()
    refused = client.post("/api/v1/records/customer", json={"name": "x"})
    assert refused.status_code == 401 and error_of(refused)["code"] == "unauthorized"
    assert (
        client.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    )  # pages keep CSRF
