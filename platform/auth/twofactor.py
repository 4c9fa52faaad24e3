"""Optional TOTP two-factor sign-in (RFC 6238, via pyotp): enrol, confirm, verify once, disable."""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp
from sqlalchemy import Engine, or_, select

from metamodel.systables import users

ISSUER = "Low-code CRM"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # accept the previous and next code too: phone clocks drift


def new_secret() -> str:
    """Return a new random base32 secret."""
    return pyotp.random_base32()


def otpauth_uri(secret: str, username: str) -> str:
    """Return the ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """Return the time step whose code is ``code`` (within the allowed drift), or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def begin_enrolment(engine: Engine, user_id: int) -> str | None:
    """Store a new, not yet enabled secret for the user and return it; None if 2FA is already on."""
    secret = new_secret()
    with engine.begin() as conn:
        stored = conn.execute(
            users.update()
            .where(users.c.id == user_id, users.c.totp_enabled.is_(False))
            .values(totp_secret=secret, totp_last_step=None)
        ).rowcount
    return secret if stored else None


def pending_secret(engine: Engine, user_id: int) -> str | None:
    """Return the secret of an enrolment that is not confirmed yet, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.totp_secret, users.c.totp_enabled).where(users.c.id == user_id)
        ).first()
    return row.totp_secret if row is not None and not row.totp_enabled and row.totp_secret else None


def use_code(engine: Engine, user_id: int, code: str, now: dt.datetime, *, enabled: bool) -> bool:
    """Accept ``code`` once for the user's secret (enabled or pending, per ``enabled``); records its step."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.totp_secret).where(users.c.id == user_id, users.c.totp_enabled.is_(enabled))
        ).first()
    if row is None or not row.totp_secret:
        return False
    step = matching_step(row.totp_secret, code, now)
    if step is None:
        return False
    with engine.begin() as conn:
        # Conditional on the last step, so a code (even one replayed concurrently) works only once.
        used = conn.execute(
            users.update()
            .where(
                users.c.id == user_id,
                users.c.totp_secret == row.totp_secret,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        ).rowcount
    return bool(used)


def confirm_enrolment(engine: Engine, user_id: int, code: str, now: dt.datetime) -> bool:
    """Enable two-factor sign-in when ``code`` matches the pending secret."""
    if not use_code(engine, user_id, code, now, enabled=False):
        return False
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(totp_enabled=True))
    return True


def disable(engine: Engine, user_id: int, code: str, now: dt.datetime) -> bool:
    """Turn two-factor sign-in off when ``code`` is a current code; the secret is deleted."""
    if not use_code(engine, user_id, code, now, enabled=True):
        return False
    with engine.begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(totp_enabled=False, totp_secret=None, totp_last_step=None)
        )
    return True
