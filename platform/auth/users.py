"""User accounts and API tokens stored in the system tables."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from flask_login import UserMixin
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from metamodel.errors import Conflict, Problem, RecordInvalid
from metamodel.records.hooks import Actor
from metamodel.systables import api_tokens, users

MIN_PASSWORD_LENGTH = 8


@dataclass
class User(UserMixin):
    """A signed-in user, as flask-login sees it."""

    id: int
    username: str
    display_name: str
    locale: str
    is_admin: bool
    active: bool = True

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return str(self.id)

    @property
    def is_active(self) -> bool:
        """Whether the account may sign in."""
        return self.active

    def actor(self) -> Actor:
        """Return the record-runtime actor for this user."""
        return Actor(self.id, self.username, self.is_admin)


def _user(row: Any) -> User:
    return User(row.id, row.username, row.display_name, row.locale, row.is_admin, row.is_active)


def create_user(
    engine: Engine, username: str, password: str, *, display_name: str = "", is_admin: bool = False, locale: str = "en"
) -> User:
    """Create an account; the password is stored as a salted scrypt hash."""
    problems = []
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").isalnum():
        problems.append(Problem("username", "use 1-80 letters, digits, dots or underscores", "format"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("password", f"must be at least {MIN_PASSWORD_LENGTH} characters", "min_length"))
    if problems:
        raise RecordInvalid("the user is not valid", problems)
    row = {
        "username": username,
        "password_hash": generate_password_hash(password),
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
    return User(int(new_id), username, row["display_name"], locale, is_admin)


def load_user(engine: Engine, user_id: int) -> User | None:
    """Return the user with ``user_id``, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """Return the user when the password matches and the account is active."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        check_password_hash(generate_password_hash("x"), password)  # same work either way: no user probing
        return None
    if not row.is_active or not check_password_hash(row.password_hash, password):
        return None
    return _user(row)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RecordInvalid("the password is too short", [Problem("password", f"must be at least {MIN_PASSWORD_LENGTH} characters", "min_length")])
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.username == username).values(password_hash=generate_password_hash(password)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, user_id: int, name: str, days: int | None = None) -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once."""
    token = "crm_" + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=days) if days else None
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(user_id=user_id, name=name[:100], token_hash=_token_hash(token), created_at=now, expires_at=expires)
        )
    return token


def user_for_token(engine: Engine, token: str) -> User | None:
    """Return the user of a valid, unexpired token."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users, api_tokens.c.expires_at)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == _token_hash(token))
        ).first()
    if row is None or not row.is_active:
        return None
    if row.expires_at is not None and row.expires_at < dt.datetime.now(dt.UTC):
        return None
    return _user(row)
