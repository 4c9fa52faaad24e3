"""What the list view's bulk bar offers: the entity's workflow transitions and the users to assign to."""

from __future__ import annotations

from sqlalchemy import select

from crm_platform.i18n import current_locale
from crm_platform.pages.workflowpanel import workflow_service as _workflow_service
from crm_platform.services import services, site_model
from metamodel.systables import users
from rule_engine.workflow import workflow_for


def transitions_of(entity: str) -> list[tuple[str, str]]:
    """Return (name, label) of the entity's workflow transitions, for the bulk bar."""
    spec = workflow_for(site_model(), entity)
    if spec is None or _workflow_service() is None:
        return []
    locale = current_locale()
    return [(s.name, str(s.label.get(locale) or s.label.get("en") or s.name)) for s in spec.transitions]


def assignees() -> list[tuple[int, str]]:
    """Return (id, name) of the active users a record may be assigned to."""
    with services().engine.connect() as conn:
        rows = conn.execute(
            select(users.c.id, users.c.display_name, users.c.username)
            .where(users.c.is_active.is_(True))
            .order_by(users.c.username)
            .limit(500)
        ).all()
    return [(int(r.id), str(r.display_name or r.username)) for r in rows]
