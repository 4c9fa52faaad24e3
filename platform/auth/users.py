"""User accounts in the system tables: creation, password checks and changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from crm_platform.auth.apitokens import create_token, user_for_token
from crm_platform.auth.model import User, user_from_row
from crm_platform.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    hash_password,
    needs_rehash,
    spend_verification_time,
    verify_password,
)
from crm_platform.auth.sessions import digest, end_all
from metamodel.errors import Conflict, NotFound, Problem, RecordInvalid
from metamodel.systables import sessions, users

# Re-exported: callers import the token helpers and the policy's minimum from here.
__all__ = [
    "MIN_PASSWORD_LENGTH",
    "User",
    "authenticate",
    "create_token",
    "create_user",
    "load_session_user",
    "load_user",
    "set_active",
    "set_password",
    "user_for_token",
]


def create_user(
    engine: Engine,
    username: str,
    password: str,
    *,
    display_name: str = "",
    is_admin: bool = False,
    locale: str = "en",
) -> User:
    """Create an account; the password must meet the policy and is stored as an argon2id hash."""
    problems = []
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").isalnum():
        problems.append(Problem("username", "use 1-80 letters, digits, dots or underscores", "format"))
    try:
        check_password_policy(password, username)
    except RecordInvalid as exc:
        problems.extend(exc.problems)
    if problems:
        raise RecordInvalid("the user is not valid", problems)
    row = {
        "username": username,
        "password_hash": hash_password(password),
        "display_name": display_name or username,
        "locale": locale,
        "is_admin": is_admin,
        "is_active": True,
        "created_at": dt.datetime.now(dt.UTC),
    }
    try:
        with engine.begin() as conn:
            new_id = conn.execute(users.insert().values(row)).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise Conflict(f"user '{username}' already exists") from None
    found = load_user(engine, int(new_id))
    assert found is not None
    return found


def load_user(engine: Engine, user_id: int) -> User | None:
    """Return the user with ``user_id``, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return user_from_row(row) if row else None


def load_session_user(
    engine: Engine, session_id: str, key: str | None, not_before: dt.datetime | None = None
) -> User | None:
    """Return the active user of a session (id ``id.stamp``, server-side ``key``, opened at or after
    ``not_before``); None once it ended."""
    raw_id, _, stamp = session_id.partition(".")
    if not raw_id.isdigit() or len(raw_id) > 19 or not key or len(key) > 100:
        return None
    # One query: the session row must still exist (logout, a password change or a deactivation
    # deletes it) and belong to this user.
    found = (
        select(users)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(users.c.id == int(raw_id), sessions.c.id == digest(key), users.c.is_active.is_(True))
    )
    if not_before is not None:
        found = found.where(sessions.c.created_at >= not_before)
    with engine.connect() as conn:
        row = conn.execute(found).first()
    user = user_from_row(row) if row else None
    return user if user is not None and stamp == user.password_stamp else None


def user_id_of(engine: Engine, username: str) -> int:
    """Return the id of ``username``; NotFound if there is no such user."""
    with engine.connect() as conn:
        found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if found is None:
        raise NotFound(f"no user '{username}'")
    return int(found)


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """Return the user when the password matches and the account is active; upgrades old hashes."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        spend_verification_time(password)  # same work either way: no user probing by timing
        return None
    if not verify_password(row.password_hash, password) or not row.is_active:
        return None
    if needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == row.id, users.c.password_hash == row.password_hash)
                .values(password_hash=hash_password(password))
            )
        return load_user(engine, int(row.id))
    return user_from_row(row)


def set_password(engine: Engine, username: str, password: str, *, must_change: bool = False) -> None:
    """Replace a user's password (which must meet the policy); ``must_change`` forces a new one at next sign-in."""
    check_password_policy(password, username)
    user_id = user_id_of(engine, username)
    with engine.begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(password_hash=hash_password(password), must_change_password=must_change)
        )
        end_all(conn, user_id)  # a captured cookie must not outlive the password it was won with


def set_active(engine: Engine, username: str, active: bool) -> None:
    """Activate or deactivate an account; deactivation ends its sessions at once (tokens stop too)."""
    user_id = user_id_of(engine, username)
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(is_active=active))
        if not active:
            end_all(conn, user_id)
