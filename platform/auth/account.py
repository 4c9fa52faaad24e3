"""The signed-in user's security page: change the password, turn two-factor sign-in on or off."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm_platform.auth import clock, signin, twofactor
from crm_platform.auth.session import (
    bp,
    client_ip,
    lock_message,
    lockout_policy,
    new_password_errors,
    open_session,
)
from crm_platform.auth.users import authenticate, load_user, set_password
from crm_platform.i18n import t
from crm_platform.services import services


def _page(status: int = 200, **context: Any) -> Any:
    engine = services().engine
    user = load_user(engine, int(current_user.id))
    secret = twofactor.pending_secret(engine, int(current_user.id))
    uri = twofactor.otpauth_uri(secret, current_user.username) if secret else None
    return render_template(
        "auth/security.html", account=user, secret=secret, otpauth_uri=uri, **context
    ), status


@bp.get("/account/security")
@login_required
def security() -> Any:
    """Show the password form and the two-factor settings."""
    return _page()


@bp.post("/account/password")
@login_required
def change_password() -> Any:
    """Change one's own password (the current one is asked again)."""
    engine = services().engine
    current = request.form.get("current_password", "")
    new, repeat = request.form.get("new_password", ""), request.form.get("confirm_password", "")
    until = signin.current_lock(engine, current_user.username, client_ip())
    if until is not None:
        return _page(429, password_errors=[lock_message(until)])
    if authenticate(engine, current_user.username, current) is None:
        signin.record_failure(
            engine, current_user.username, client_ip(), signin.BAD_PASSWORD, lockout_policy()
        )
        return _page(422, password_errors=[t("auth.bad_current_password")])
    errors = new_password_errors(current_user.username, new, repeat)
    if errors:
        return _page(422, password_errors=errors)
    set_password(engine, current_user.username, new)
    refreshed = load_user(engine, int(current_user.id))
    assert refreshed is not None
    open_session(refreshed)  # set_password ended every session of the user: this browser gets a new one
    flash(t("auth.password_changed"))
    return redirect(url_for("auth.security"))


@bp.post("/account/totp/enrol")
@login_required
def totp_enrol() -> Any:
    """Create a new secret to add to an authenticator app; it takes effect once a code confirms it."""
    if twofactor.begin_enrolment(services().engine, int(current_user.id)) is None:
        return _page(409, totp_error=t("auth.totp_already_on"))
    return redirect(url_for("auth.security"))


@bp.post("/account/totp/confirm")
@login_required
def totp_confirm() -> Any:
    """Turn two-factor sign-in on when the code from the app matches the new secret."""
    if not twofactor.confirm_enrolment(
        services().engine, int(current_user.id), request.form.get("code", ""), clock.now()
    ):
        return _bad_code()
    flash(t("auth.totp_enabled"))
    return redirect(url_for("auth.security"))


@bp.post("/account/totp/disable")
@login_required
def totp_disable() -> Any:
    """Turn two-factor sign-in off; needs a current code."""
    if not twofactor.disable(
        services().engine, int(current_user.id), request.form.get("code", ""), clock.now()
    ):
        return _bad_code()
    flash(t("auth.totp_disabled"))
    return redirect(url_for("auth.security"))


def _bad_code() -> Any:
    # Counted like a failed sign-in, so a borrowed session cannot guess codes without limit.
    engine = services().engine
    until = signin.current_lock(engine, current_user.username, client_ip())
    if until is not None:
        return _page(429, totp_error=lock_message(until))
    signin.record_failure(engine, current_user.username, client_ip(), signin.BAD_CODE, lockout_policy())
    return _page(422, totp_error=t("auth.bad_code"))
