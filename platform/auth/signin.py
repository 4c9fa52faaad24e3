"""The sign-in decision: locks first, then the password, recording every attempt and failure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from crm_platform.auth import clock, throttle
from crm_platform.auth.model import User
from crm_platform.auth.throttle import LockoutPolicy
from crm_platform.auth.users import authenticate
from metamodel.audit import record_sign_in, record_sign_out
from metamodel.systables import login_attempts, users

SUCCESS = "success"
BAD_PASSWORD = "bad_password"
BAD_CODE = "bad_code"
LOCKED = "locked"


@dataclass(frozen=True)
class Attempt:
    """The result of a sign-in step: the user when it succeeded, else when the lock ends (if locked)."""

    user: User | None = None
    locked_until: dt.datetime | None = None


def record_attempt(engine: Engine, username: str, ip: str, outcome: str, user_id: int | None = None) -> None:
    """Write one row of the sign-in audit trail."""
    if user_id is None:
        with engine.connect() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(
            login_attempts.insert().values(
                at=now, username=username[:80], user_id=user_id, ip=ip[:64], outcome=outcome
            )
        )
        record_sign_in(conn, username[:80], user_id, ip, outcome, now)


def current_lock(engine: Engine, username: str, ip: str) -> dt.datetime | None:
    """Return when the lock on this user name or address ends, or None."""
    return throttle.locked_until(engine, [throttle.user_key(username), throttle.ip_key(ip)], clock.now())


def record_failure(engine: Engine, username: str, ip: str, outcome: str, policy: LockoutPolicy) -> None:
    """Count a failed password or code against the user name and the address, and record it."""
    now = clock.now()
    throttle.record_failure(engine, throttle.user_key(username), policy.user_failures, policy, now)
    throttle.record_failure(engine, throttle.ip_key(ip), policy.ip_failures, policy, now)
    record_attempt(engine, username, ip, outcome)


def check_password(engine: Engine, username: str, password: str, ip: str, policy: LockoutPolicy) -> Attempt:
    """Check a user name and password unless the name or address is locked."""
    until = current_lock(engine, username, ip)
    if until is not None:
        # Locks are per user name, existing or not, so this answer does not tell whether the user exists.
        record_attempt(engine, username, ip, LOCKED)
        return Attempt(locked_until=until)
    user = authenticate(engine, username, password)
    if user is None:
        record_failure(engine, username, ip, BAD_PASSWORD, policy)
        return Attempt()
    return Attempt(user=user)


def succeeded(engine: Engine, user: User, ip: str) -> None:
    """Record a complete sign-in and forget the user name's failures."""
    throttle.clear(engine, throttle.user_key(user.username))
    record_attempt(engine, user.username, ip, SUCCESS, user.id)


def signed_out(engine: Engine, user: User, ip: str) -> None:
    """Record a sign-out in the audit log."""
    with engine.begin() as conn:
        record_sign_out(conn, user.username, user.id, ip, clock.now())


def unlock(engine: Engine, username: str) -> bool:
    """Lift the lock and failure count of a user name (an administrator's unlock); whether there was one."""
    return throttle.clear(engine, throttle.user_key(username))
