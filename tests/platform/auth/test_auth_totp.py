"""Optional TOTP two-factor sign-in: enrol with a confirming code, a code after the password, disable with a code."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.twofactor import matching_step
from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.auth.authsupport import PASSWORD, FakeClock, login, post_form


def code_at(secret: str, fake_clock: FakeClock, seconds: float = 0) -> str:
    """Return the code an authenticator app shows at the fake time (shifted by ``seconds``)."""
    return pyotp.TOTP(secret).at(fake_clock.current.timestamp() + seconds)


def enrol(client: FlaskClient, fake_clock: FakeClock) -> str:
    """Turn two-factor sign-in on for the signed-in client; return the secret."""
    assert post_form(client, "/account/security", "/account/totp/enrol", {}).status_code == 302
    page = client.get("/account/security").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    uri = re.search(r'id="totp-uri">([^<]+)<', page)
    assert uri and uri.group(1).startswith("otpauth://totp/") and f"secret={secret.group(1)}" in uri.group(1)
    confirmed = post_form(
        client, "/account/security", "/account/totp/confirm", {"code": code_at(secret.group(1), fake_clock)}
    )
    assert confirmed.status_code == 302
    assert "Two-factor sign-in is now on" in client.get("/account/security").get_data(as_text=True)
    return secret.group(1)


def enabled(svc: CrmServices, username: str) -> bool:
    """Whether two-factor sign-in is on for ``username``."""
    with svc.engine.connect() as conn:
        return bool(
            conn.execute(sa.select(users.c.totp_enabled).where(users.c.username == username)).scalar_one()
        )


def test_enrol_then_sign_in_with_a_code(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """Once enrolled, the password alone leads to the code page; the right code signs in."""
    create_user(auth_svc.engine, "quinn", PASSWORD)
    client = auth_app.test_client()
    login(client, "quinn")
    secret = enrol(client, fake_clock)
    assert enabled(auth_svc, "quinn")

    fake_clock.advance(seconds=60)
    fresh = auth_app.test_client()
    after_password = login(fresh, "quinn")
    assert after_password.status_code == 302 and after_password.headers["Location"].endswith("/login/code")
    assert fresh.get("/account/security").status_code == 302  # not signed in yet
    wrong = post_form(
        fresh,
        "/login/code",
        "/login/code",
        {"code": "000000" if code_at(secret, fake_clock) != "000000" else "111111"},
    )
    assert wrong.status_code == 401 and "That code is not valid" in wrong.get_data(as_text=True)
    right = post_form(fresh, "/login/code", "/login/code", {"code": code_at(secret, fake_clock)})
    assert right.status_code == 302
    assert fresh.get("/account/security").status_code == 200


def test_a_code_works_once_and_within_one_step_of_drift(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """The same code cannot be replayed; the previous and next codes are accepted, older ones not."""
    create_user(auth_svc.engine, "ruth", PASSWORD)
    client = auth_app.test_client()
    login(client, "ruth")
    secret = enrol(client, fake_clock)
    fake_clock.advance(seconds=90)
    first = auth_app.test_client()
    login(first, "ruth")
    used = code_at(secret, fake_clock, -30)  # the phone is a step behind: still fine
    assert post_form(first, "/login/code", "/login/code", {"code": used}).status_code == 302
    replay = auth_app.test_client()
    login(replay, "ruth")
    assert post_form(replay, "/login/code", "/login/code", {"code": used}).status_code == 401
    assert (
        post_form(
            replay, "/login/code", "/login/code", {"code": code_at(secret, fake_clock, -60)}
        ).status_code
        == 401
    )
    assert (
        post_form(replay, "/login/code", "/login/code", {"code": code_at(secret, fake_clock, 30)}).status_code
        == 302
    )


def test_code_checks_are_strict() -> None:
    """Only six digits at a matching step are accepted (spaces allowed)."""
    secret = pyotp.random_base32()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    code = pyotp.TOTP(secret).at(now.timestamp())
    assert matching_step(secret, code, now) == int(now.timestamp()) // 30
    assert matching_step(secret, f"{code[:3]} {code[3:]}", now) is not None
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert matching_step(secret, bad, now) is None


def test_wrong_codes_count_towards_the_lock(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """Guessing codes locks the account like guessing passwords does."""
    create_user(auth_svc.engine, "sam", PASSWORD)
    client = auth_app.test_client()
    login(client, "sam")
    secret = enrol(client, fake_clock)
    fake_clock.advance(seconds=60)
    guesser = auth_app.test_client()
    login(guesser, "sam")
    good = code_at(secret, fake_clock)
    bad = "123456" if good != "123456" else "654321"
    statuses = [post_form(guesser, "/login/code", "/login/code", {"code": bad}).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert post_form(guesser, "/login/code", "/login/code", {"code": good}).status_code == 429


def test_pending_code_step_expires(auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock) -> None:
    """Without a password first, or five minutes after it, the code page sends back to sign-in."""
    assert auth_app.test_client().get("/login/code").headers["Location"].endswith("/login")
    assert auth_app.test_client().get("/login/new-password").headers["Location"].endswith("/login")
    create_user(auth_svc.engine, "vic", PASSWORD)
    client = auth_app.test_client()
    login(client, "vic")
    secret = enrol(client, fake_clock)
    fake_clock.advance(seconds=60)
    slow = auth_app.test_client()
    login(slow, "vic")
    assert slow.get("/login/code").status_code == 200
    fake_clock.advance(seconds=301)
    late = post_form(slow, "/login", "/login/code", {"code": code_at(secret, fake_clock)})
    assert late.status_code == 302 and late.headers["Location"].endswith("/login")
    assert slow.get("/account/security").status_code == 302


def test_disable_needs_a_current_code(auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock) -> None:
    """A wrong code leaves two-factor on; a right one turns it off and the password alone signs in again."""
    create_user(auth_svc.engine, "tia", PASSWORD)
    client = auth_app.test_client()
    login(client, "tia")
    secret = enrol(client, fake_clock)
    fake_clock.advance(seconds=60)
    refused = post_form(client, "/account/security", "/account/totp/disable", {"code": "12"})
    assert refused.status_code == 422 and enabled(auth_svc, "tia")
    again = post_form(client, "/account/security", "/account/totp/enrol", {})
    assert again.status_code == 409 and "already on" in again.get_data(as_text=True)
    assert (
        post_form(
            client, "/account/security", "/account/totp/disable", {"code": code_at(secret, fake_clock)}
        ).status_code
        == 302
    )
    assert not enabled(auth_svc, "tia")
    assert login(auth_app.test_client(), "tia").headers["Location"].endswith("/")


def test_enrolment_needs_a_confirming_code(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """A started but unconfirmed enrolment does not turn two-factor on."""
    create_user(auth_svc.engine, "uma", PASSWORD)
    client = auth_app.test_client()
    login(client, "uma")
    post_form(client, "/account/security", "/account/totp/enrol", {})
    wrong = post_form(client, "/account/security", "/account/totp/confirm", {"code": "99999x"})
    assert wrong.status_code == 422 and not enabled(auth_svc, "uma")
    assert login(auth_app.test_client(), "uma").status_code == 302
    assert not login(auth_app.test_client(), "uma").headers["Location"].endswith("/login/code")
