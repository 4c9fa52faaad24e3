"""Who may read the audit log: administrators and holders of the auditor role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, or_, select

from metamodel.systables import user_role_expiry, user_roles

AUDITOR_ROLE = "auditor"


def may_audit(conn: Connection, user_id: int | None, is_admin: bool, now: dt.datetime) -> bool:
    """Whether the user may browse and export the whole audit log (an unexpired auditor role)."""
    if is_admin:
        return True
    if user_id is None:
        return False
    held = and_(
        user_role_expiry.c.user_id == user_roles.c.user_id, user_role_expiry.c.role == user_roles.c.role
    )
    found = conn.execute(
        select(user_roles.c.role)
        .select_from(user_roles.outerjoin(user_role_expiry, held))
        .where(
            user_roles.c.user_id == user_id,
            user_roles.c.role == AUDITOR_ROLE,
            or_(user_role_expiry.c.expires_at.is_(None), user_role_expiry.c.expires_at > now),
        )
    ).first()
    return found is not None
