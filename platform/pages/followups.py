"""Adding a follow-up note (跟进记录) from the record page; @mentions land in the mentioned users' inboxes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Connection, select

from crm_platform.i18n import t
from crm_platform.pages.recordaccess import page_entity
from crm_platform.pages.views import bp
from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.errors import NotFound, RecordInvalid
from metamodel.followups import Followup, add_followup
from metamodel.records.hooks import Actor
from metamodel.systables import users
from rule_engine.tables import inbox

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.\-]{1,80})")
MAX_MENTIONS = 20


@bp.route("/e/<entity>/<int:record_id>/followups", methods=["POST"])
@login_required
def record_followup(entity: str, record_id: int) -> Any:
    """Store a follow-up note with its kind and next date; errors come back as a message."""
    model = page_entity(entity)
    target = url_for("pages.record_detail", entity=entity, record_id=record_id) + "#timeline"
    text = request.form.get("next_date", "").strip()
    try:
        next_date = dt.date.fromisoformat(text) if text else None
    except ValueError:
        flash(t("followup.bad_date"), "error")
        return redirect(target)
    try:
        note = add_followup(
            services().runtime(),
            model.name,
            record_id,
            current_user.actor(),
            kind=request.form.get("kind", "note")[:20],
            body=request.form.get("body", ""),
            next_date=next_date,
        )
    except NotFound:
        raise
    except RecordInvalid as exc:
        paths = {p.path for p in exc.problems}
        flash(t("followup.body_required" if "body" in paths else "followup.invalid"), "error")
        return redirect(target)
    notified = notify_mentions(note, current_user.actor())
    flash(t("followup.saved") + (" " + t("followup.notified", n=notified) if notified else ""))
    return redirect(target)


def notify_mentions(note: Followup, author: Actor) -> int:
    """Send each @mentioned user who may read the record an inbox message; returns how many were told."""
    names = list(dict.fromkeys(MENTION.findall(note.body)))[:MAX_MENTIONS]
    if not names:
        return 0
    runtime = services().runtime()
    title = runtime.titles(note.entity, [note.record_id]).get(note.record_id, f"#{note.record_id}")
    with runtime.transaction(write=True) as conn:
        told = [
            u
            for u in _users(conn, names)
            if u.user_id != author.user_id and _may_read(runtime, note, u, conn)
        ]
        if told:
            conn.execute(
                inbox.insert(),
                [
                    {
                        "user_id": user.user_id,
                        "subject": f"@{author.username}: {title}"[:300],
                        "body": note.body,
                        "entity": note.entity,
                        "record_id": note.record_id,
                        "rule": "followup.mention",
                        "created_at": note.at,
                    }
                    for user in told
                ],
            )
    return len(told)


def _users(conn: Connection, names: list[str]) -> list[Actor]:
    rows = conn.execute(
        select(users.c.id, users.c.username, users.c.is_admin).where(
            users.c.username.in_(names), users.c.is_active.is_(True)
        )
    )
    return [Actor(user_id=int(r.id), username=str(r.username), is_admin=bool(r.is_admin)) for r in rows]


def _may_read(runtime: Any, note: Followup, user: Actor, conn: Connection) -> bool:
    # A mention never tells someone about a record her row scope hides from her.
    try:
        runtime.get(note.entity, note.record_id, user, conn=conn)
    except (NotFound, AccessDenied):
        return False
    return True
