"""The notifications inbox (``/inbox``): messages rules sent to the user, unread first, mark read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import t
from crm_platform.pages.nav import navigation
from crm_platform.services import services
from rule_engine.inbox import mark_read, messages_of, unread_count

bp = Blueprint("inbox_pages", __name__)
PAGE = 50


def unread_messages() -> int:
    """Return the signed-in user's unread count for the bell (0 when it cannot be told, e.g. on a 500 page)."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    cached = g.get("crm_unread")
    if cached is None:
        try:
            with services().engine.connect() as conn:
                cached = unread_count(conn, current_user.id)
        except Exception:  # the error page is drawn while the database may be the problem
            cached = 0
        g.crm_unread = cached
    return int(cached)


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/inbox")
@login_required
def inbox() -> Any:
    """List the user's messages, newest first; ``?unread=1`` shows only the unread ones."""
    unread_only = request.args.get("unread") == "1"
    with services().engine.connect() as conn:
        rows = messages_of(conn, current_user.id, unread_only=unread_only, before=_before(), limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    readable = {e.name: e.label for group in navigation() for e in group.entities}
    for row in rows:
        # A link only where she may open the entity's records; the record page checks the row itself.
        linked = row["entity"] in readable and row["record_id"] is not None
        row["link"] = url_for("inbox_pages.inbox_open", message_id=row["id"]) if linked else None
        row["entity_label"] = readable.get(row["entity"] or "", "")
    older = rows[-1]["id"] if more and rows else None
    return render_template("nav/inbox.html", rows=rows, unread_only=unread_only, older=older)


@bp.route("/inbox/read", methods=["POST"])
@login_required
def inbox_read() -> Any:
    """Mark one message (``id``) or every message (``all``) read, then go back to the inbox or the record."""
    clock = services().clock
    everything = request.form.get("all") == "1"
    raw = request.form.get("id", "")
    if not everything and not raw.isdigit():
        abort(400, description=t("inbox.bad_request"))
    with services().engine.begin() as conn:
        changed = mark_read(conn, current_user.id, None if everything else [int(raw)], clock())
    if everything:
        flash(t("inbox.all_read", n=changed))
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("inbox_pages.inbox", unread=request.form.get("unread") or None))


@bp.route("/inbox/<int:message_id>/open")
@login_required
def inbox_open(message_id: int) -> Any:
    """Open a message's record and mark the message read (her own messages only)."""
    with services().engine.begin() as conn:
        rows = [
            r
            for r in messages_of(conn, current_user.id, before=message_id + 1, limit=1)
            if r["id"] == message_id
        ]
        if not rows or rows[0]["record_id"] is None:
            abort(404)
        mark_read(conn, current_user.id, [message_id], services().clock())
    row = rows[0]
    return redirect(url_for("pages.record_detail", entity=row["entity"], record_id=row["record_id"]))
