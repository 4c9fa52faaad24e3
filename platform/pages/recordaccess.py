"""Small look-ups of the record page: the page's entity, user names, and what the user may do to a record."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.errors import NotFound
from metamodel.model import EntityModel
from metamodel.systables import users


def page_entity(name: str) -> EntityModel:
    """Return the published entity ``name`` with its own pages (404 for unknown and child-table entities)."""
    model = services().metadata.model().entities.get(name)
    if model is None or model.entity.is_child:
        abort(404, description=f"entity '{name}' does not exist")
    return model


def user_names(ids: set[int]) -> dict[int, str]:
    """Return the user names of ``ids`` (ids of deleted users are left out)."""
    if not ids:
        return {}
    with services().engine.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(sorted(ids))))
        return {int(r.id): str(r.username) for r in rows}


def may(entity: str, operation: str, record_id: int | None = None) -> bool:
    """Whether the user may ``operation`` (update, delete, create) the record, row scopes included."""
    try:
        services().runtime().authorize(entity, operation, current_user.actor(), record_id)
    except (AccessDenied, NotFound):
        return False
    return True
