"""Sign-in lockout: growing locks per user name and per address, kept in the database, lifted by time or an admin."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.cli import cli
from crm_platform.services import CrmServices
from metamodel.systables import login_attempts
from tests.platform.api.apisupport import Api
from tests.platform.auth.authsupport import PASSWORD, FakeClock, client_at, login
from tests.platform.auth.conftest import make_app

LOCKED_TEXT = "Too many failed sign-in attempts"


def fail(app: Flask, username: str, times: int, ip: str = "10.0.0.1") -> list[int]:
    """Try a wrong password ``times`` times from ``ip``; return the statuses."""
    client = client_at(app, ip)
    return [login(client, username, "wrong-password-0").status_code for _ in range(times)]


def alert_of(html: str) -> str:
    """Return the error message of a page."""
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found, html
    return found.group(1)


def signs_in(app: Flask, username: str, ip: str = "10.0.0.1") -> bool:
    """Whether the right password signs ``username`` in from ``ip`` (a redirect)."""
    response = login(client_at(app, ip), username)
    assert response.status_code in (302, 401, 429), response.status_code
    if response.status_code == 429:
        assert LOCKED_TEXT in response.get_data(as_text=True)
    return response.status_code == 302


def test_five_failures_lock_the_account_for_a_growing_time(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """After 5 failures even the right password is refused (429) for a minute, then 2, then 4..."""
    create_user(auth_svc.engine, "erin", PASSWORD)
    assert fail(auth_app, "erin", 5) == [401, 401, 401, 401, 401]
    assert not signs_in(auth_app, "erin")
    page = login(auth_app.test_client(), "erin")
    assert page.status_code == 429 and "Try again in 1 minute(s)" in page.get_data(as_text=True)
    fake_clock.advance(seconds=61)
    assert fail(auth_app, "erin", 1) == [401]  # the sixth failure locks for twice as long
    fake_clock.advance(seconds=61)
    assert not signs_in(auth_app, "erin")
    fake_clock.advance(seconds=60)
    assert fail(auth_app, "erin", 1) == [401]
    fake_clock.advance(minutes=3)
    assert not signs_in(auth_app, "erin")
    fake_clock.advance(minutes=1, seconds=1)
    assert signs_in(auth_app, "erin")


def test_success_resets_the_count_and_quiet_time_forgets_failures(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """4 failures, a success, 4 more: no lock. Failures 15 minutes apart do not add up either."""
    create_user(auth_svc.engine, "fay", PASSWORD)
    assert fail(auth_app, "fay", 4) == [401] * 4
    assert signs_in(auth_app, "fay")
    assert fail(auth_app, "fay", 4) == [401] * 4
    fake_clock.advance(minutes=16)
    assert fail(auth_app, "fay", 4) == [401] * 4
    assert signs_in(auth_app, "fay")


def test_lock_message_does_not_tell_whether_the_user_exists(auth_app: Flask, auth_svc: CrmServices) -> None:
    """An unknown user name locks the same way, with the same answers, as an existing one."""
    create_user(auth_svc.engine, "gil", PASSWORD)
    assert fail(auth_app, "gil", 6) == fail(auth_app, "nobody", 6) == [401] * 5 + [429]
    known = login(auth_app.test_client(), "gil", "wrong-password-0").get_data(as_text=True)
    unknown = login(auth_app.test_client(), "nobody", "wrong-password-0").get_data(as_text=True)
    assert alert_of(known) == alert_of(unknown) and LOCKED_TEXT in alert_of(known)


def test_lock_holds_across_workers(
    db_url: str, tmp_path: Path, auth_app: Flask, auth_svc: CrmServices
) -> None:
    """The counters live in the database: a second app (another worker) sees the lock."""
    create_user(auth_svc.engine, "hal", PASSWORD)
    assert fail(auth_app, "hal", 5) == [401] * 5
    other = make_app(db_url, tmp_path)
    try:
        assert not signs_in(other, "hal")
    finally:
        other.extensions["crm"].engine.dispose()


def test_admin_unlocks_with_the_cli_or_the_api(
    auth_app: Flask, auth_svc: CrmServices, crm_env: dict[str, str], db_url: str
) -> None:
    """``crm unlock-user`` and POST /users/<id>/unlock lift the lock at once."""
    ivy = create_user(auth_svc.engine, "ivy", PASSWORD)
    fail(auth_app, "ivy", 5)
    assert not signs_in(auth_app, "ivy")
    runner = CliRunner()
    result = runner.invoke(cli, ["unlock-user", "ivy"])
    assert result.exit_code == 0 and "Unlocked 'ivy'" in result.output, result.output
    assert signs_in(auth_app, "ivy")
    again = runner.invoke(cli, ["unlock-user", "ivy"])
    assert again.exit_code == 0 and "was not locked" in again.output
    missing = runner.invoke(cli, ["unlock-user", "nobody"])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output

    fail(auth_app, "ivy", 5)
    admin = create_user(auth_svc.engine, "root", PASSWORD, is_admin=True)
    api = Api(auth_app.test_client(), create_token(auth_svc.engine, admin.id, "t"))
    assert api.ok("POST", f"/users/{ivy.id}/unlock")["was_locked"] is True
    assert signs_in(auth_app, "ivy")
    normal = Api(auth_app.test_client(), create_token(auth_svc.engine, ivy.id, "t"))
    assert normal.call("POST", f"/users/{ivy.id}/unlock").status_code == 403
    assert api.call("POST", "/users/999/unlock").status_code == 404


def test_an_address_with_many_failures_is_throttled(
    db_url: str, tmp_path: Path, fake_clock: FakeClock
) -> None:
    """Failures spread over many user names from one address lock that address, not others."""
    app = make_app(db_url, tmp_path, CRM_LOGIN_IP_MAX_FAILURES=6)
    try:
        create_user(app.extensions["crm"].engine, "jo", PASSWORD)
        for name in ("a1", "a2", "a3"):
            assert fail(app, name, 2, ip="192.0.2.7") == [401, 401]
        assert not signs_in(app, "jo", ip="192.0.2.7")
        assert signs_in(app, "jo", ip="192.0.2.8")
    finally:
        app.extensions["crm"].engine.dispose()


def test_attempts_are_recorded_with_time_and_address(
    auth_app: Flask, auth_svc: CrmServices, fake_clock: FakeClock
) -> None:
    """Each attempt is a row: time, user name, user id (if any), address and outcome."""
    kim = create_user(auth_svc.engine, "kim", PASSWORD)
    fail(auth_app, "kim", 1, ip="203.0.113.5")
    fail(auth_app, "ghost", 1, ip="203.0.113.5")
    assert signs_in(auth_app, "kim", ip="203.0.113.6")
    with auth_svc.engine.connect() as conn:
        rows = conn.execute(sa.select(login_attempts).order_by(login_attempts.c.id)).all()
    assert [(r.username, r.user_id, r.ip, r.outcome) for r in rows] == [
        ("kim", kim.id, "203.0.113.5", "bad_password"),
        ("ghost", None, "203.0.113.5", "bad_password"),
        ("kim", kim.id, "203.0.113.6", "success"),
    ]
    assert all(r.at == fake_clock.current for r in rows)
