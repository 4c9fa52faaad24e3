"""Server-side sign-in sessions: the cookie holds a random key, the database the key's digest.

Deleting a row ends that browser's session at once, so a captured cookie stops working after sign-out,
a password change (every session of the user) or a deactivation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, Engine

from crm_platform.auth import clock
from metamodel.systables import sessions


def digest(key: str) -> str:
    """Return the stored form of a session key."""
    return hashlib.sha256(key.encode()).hexdigest()


def start(engine: Engine, user_id: int, lifetime: dt.timedelta) -> str:
    """Open a session for ``user_id`` and return its key; sessions older than ``lifetime`` are pruned."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.created_at < now - lifetime))
        conn.execute(sessions.insert().values(id=digest(key), user_id=user_id, created_at=now))
    return key


def end(engine: Engine, key: str) -> None:
    """End the session with ``key`` (unknown keys are ignored)."""
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.id == digest(key)))


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of ``user_id`` inside the caller's transaction; returns how many there were."""
    return int(conn.execute(sessions.delete().where(sessions.c.user_id == user_id)).rowcount)
