"""Who may take a transition: role look-ups in the platform's user_roles table."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from metamodel.records.hooks import Actor
from metamodel.systables import user_roles


def is_unrestricted(actor: Actor) -> bool:
    """Whether the actor passes every role check: the system (no user) and administrators."""
    return actor.user_id is None or actor.is_admin


def roles_of(conn: Connection, user_id: int) -> set[str]:
    """Return the role names a user holds."""
    return set(conn.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars())


def holds_any(conn: Connection, actor: Actor, roles: Iterable[str], held: set[str] | None = None) -> bool:
    """Whether the actor holds one of ``roles`` (no roles listed means anyone may)."""
    wanted = set(roles)
    if not wanted or is_unrestricted(actor):
        return True
    assert actor.user_id is not None
    return bool(wanted & (held if held is not None else roles_of(conn, actor.user_id)))
