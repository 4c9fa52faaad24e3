"""The signed-in user as flask-login sees it, built from a ``sys_user`` row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import has_request_context
from flask_login import UserMixin

from crm_platform.contextobjects import real_request
from metamodel.records.hooks import Actor


@dataclass
class User(UserMixin):
    """A signed-in user, as flask-login sees it."""

    id: int
    username: str
    display_name: str
    locale: str
    is_admin: bool
    active: bool = True
    must_change_password: bool = False
    totp_enabled: bool = False
    password_stamp: str = ""
    time_zone: str | None = None  # her own zone for reading and typing datetimes; None: the site's

    def get_id(self) -> str:
        """Return what flask-login keeps in the session: the id plus a stamp of the password hash."""
        # A new password changes the stamp, which signs out every other session of the user.
        return f"{self.id}.{self.password_stamp}"

    @property
    def is_active(self) -> bool:
        """Whether the account may sign in."""
        return self.active

    def actor(self) -> Actor:
        """Return the record-runtime actor for this user (with the client address, for the audit log)."""
        origin = (real_request().remote_addr or "unknown") if has_request_context() else None
        return Actor(self.id, self.username, self.is_admin, origin=origin)


def password_stamp(password_hash: str) -> str:
    """Return a short digest of a password hash (it never reveals the hash itself)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def user_from_row(row: Any) -> User:
    """Return the User of a ``sys_user`` row."""
    return User(
        int(row.id),
        row.username,
        row.display_name,
        row.locale,
        bool(row.is_admin),
        bool(row.is_active),
        bool(row.must_change_password),
        bool(row.totp_enabled),
        password_stamp(row.password_hash),
        getattr(row, "time_zone", None),
    )
