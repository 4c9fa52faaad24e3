"""Approvals waiting for the user (``/approvals``): transitions held for her role, approved or rejected here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Connection, select

from crm_platform.i18n import localized, t
from crm_platform.pages.finder import record_title
from crm_platform.pages.nav import navigation
from crm_platform.services import services
from metamodel.errors import CrmError
from metamodel.systables import users
from rule_engine.workflow import WorkflowService, workflow_for
from rule_engine.workflow.access import roles_of
from rule_engine.workflow.approvals import find_approval, waiting_for

bp = Blueprint("approval_pages", __name__)
LIMIT = 100


def _service() -> WorkflowService:
    try:
        service = getattr(services().rules.component("workflow"), "service", None)
    except KeyError:
        service = None
    if not isinstance(service, WorkflowService):
        abort(404)
    return service


def _waiting(conn: Connection) -> list[dict[str, Any]]:
    """The pending approvals she may decide, on records she may read, with words for each."""
    roles = None if current_user.is_admin else roles_of(conn, current_user.id)
    rows = waiting_for(conn, roles, LIMIT)
    site = services().metadata.model()
    runtime = services().runtime()
    labels = {e.name: e.label for group in navigation() for e in group.entities}
    ids = {int(r["requested_by"]) for r in rows if r["requested_by"] is not None}
    names = dict(
        conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(ids)))).all()
    )
    shown = []
    for row in rows:
        model = site.entities.get(row["entity"])
        spec = workflow_for(site, row["entity"])
        if model is None or spec is None or row["entity"] not in labels:
            continue
        try:
            record = runtime.get(row["entity"], int(row["record_id"]), current_user.actor(), conn=conn)
        except CrmError:  # outside her row scope: not hers to decide
            continue
        step = spec.transition(str(row["transition"]))
        row.update(
            entity_label=labels[row["entity"]],
            title=record_title(model, record),
            step=localized(step.label if step else None, str(row["transition"])),
            target=localized(spec.labels.get(step.target) if step else None, step.target if step else ""),
            by=names.get(row["requested_by"]) or "",
        )
        shown.append(row)
    return shown


@bp.route("/approvals")
@login_required
def approvals() -> Any:
    """List the approvals waiting for the user, oldest first."""
    with services().engine.connect() as conn:
        rows = _waiting(conn)
    return render_template("nav/approvals.html", rows=rows)


@bp.route("/approvals/<int:approval_id>/<any(approve, reject):decision>", methods=["POST"])
@login_required
def approval_decide(approval_id: int, decision: str) -> Any:
    """Approve (the record moves now) or reject (it stays) one pending approval; refusals become messages."""
    service = _service()
    with services().engine.connect() as conn:
        approval = find_approval(conn, approval_id)
    if approval is None:
        abort(404)
    comment = request.form.get("comment", "")[:2000]
    entity, record_id = str(approval["entity"]), int(approval["record_id"])
    runtime = services().runtime()
    try:
        if decision == "approve":
            service.approve(
                runtime, entity, record_id, approval_id, actor=current_user.actor(), comment=comment
            )
        else:
            service.reject(
                runtime, entity, record_id, approval_id, actor=current_user.actor(), comment=comment
            )
    except CrmError as exc:
        flash(t("approvals.refused", reason=exc.message), "error")
    else:
        flash(t(f"approvals.{decision}d"))
    return redirect(url_for("approval_pages.approvals"))
