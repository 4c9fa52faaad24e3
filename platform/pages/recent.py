"""Recent records: the last records a user opened, kept in her session and shown as she may see them now."""

from __future__ import annotations

from typing import Any

from flask import Flask, session
from flask_login import current_user

from crm_platform.contextobjects import real_request
from crm_platform.pages.finder import Hit, record_title
from crm_platform.pages.nav import navigation
from crm_platform.services import services, site_model
from metamodel.errors import CrmError

KEY = "crm_recent"
KEEP = 10


def remember(entity: str, record_id: int) -> None:
    """Put a record first in the session's recent list (once, at most ``KEEP`` kept)."""
    seen = [pair for pair in session.get(KEY, []) if pair != [entity, record_id]]
    session[KEY] = [[entity, record_id], *seen][:KEEP]


def recent_records() -> list[Hit]:
    """Return the recent records the user may still read, titles drawn as she may see them now."""
    pairs = session.get(KEY, [])
    if not pairs or not getattr(current_user, "is_authenticated", False):
        return []
    readable = {e.name for group in navigation() for e in group.entities}
    site = site_model()
    runtime = services().runtime()
    actor = current_user.actor()
    found = []
    for entity, record_id in pairs:
        model = site.entities.get(str(entity))
        if model is None or entity not in readable:
            continue
        try:
            record = runtime.get(str(entity), int(record_id), actor)
        except (CrmError, ValueError):  # deleted, moved out of her scope, or a stale entry
            continue
        found.append(
            Hit(str(entity), int(record_id), record_title(model, record), str(record.get("record_no") or ""))
        )
    return found


def init_app(app: Flask) -> None:
    """Remember each record page a signed-in user opened successfully."""

    @app.after_request
    def _remember_record(response: Any) -> Any:
        req = real_request()
        if (
            req.endpoint == "pages.record_detail"
            and req.method == "GET"
            and response.status_code == 200
            and getattr(current_user, "is_authenticated", False)
        ):
            args = req.view_args or {}
            remember(str(args.get("entity")), int(args.get("record_id") or 0))
        return response
