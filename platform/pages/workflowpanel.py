"""The workflow part of the record page: state badge, the transitions she may take, approvals, refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.helpers import field_text
from crm_platform.pages.recordaccess import page_entity, user_names
from crm_platform.pages.views import bp
from crm_platform.services import services
from metamodel.errors import CrmError, NotFound
from metamodel.model import EntityModel
from rule_engine.workflow import TransitionRefused, WorkflowService, workflow_for
from rule_engine.workflow.access import holds_any

# The template reads these as ``workflow.text.<key>``; each is the catalog key ``workflow.<key>``.
_TEXT_KEYS = (
    "title",
    "state",
    "history",
    "by",
    "comment",
    "comment_placeholder",
    "needs_approval",
    "pending",
    "none",
    "system",
    "approvals",
    "approve",
    "reject",
    "requested_by",
    "confirm",
)


def localized(labels: Mapping[str, str] | None, fallback: str) -> str:
    """Return the label in the reader's language, else English, else ``fallback``."""
    labels = labels or {}
    return str(labels.get(current_locale()) or labels.get("en") or fallback)


def workflow_service() -> WorkflowService | None:
    """Return the installed workflow service, or None without the workflow component."""
    try:
        service = getattr(services().rules.component("workflow"), "service", None)
    except KeyError:
        return None
    return service if isinstance(service, WorkflowService) else None


def workflow_panel(runtime: Any, model: EntityModel, record: dict[str, Any]) -> dict[str, Any] | None:
    """Return the page's workflow data: state, transitions with refusals in words, approvals, history."""
    spec = workflow_for(runtime.model, model.name)
    service = workflow_service()
    if spec is None or service is None:
        return None
    actor = current_user.actor()
    transitions = service.available_transitions(runtime, model.name, record, actor)
    for item in transitions:
        item["title"] = localized(item["label"], item["name"])
        item["to_title"] = localized(item["to_label"], item["to"])
        # The raw guard expression never reaches the page: the author's message, else a plain sentence.
        item["refusal"] = "" if item["guard_passed"] else guard_text(item["guard_message"])
        if item["guard_passed"] and item["missing_fields"]:
            item["refusal"] = t(
                "workflow.refused_fields", fields=_field_labels(model, item["missing_fields"])
            )
        item["enabled"] = not item["refusal"] and not item["approval_pending"]
        item["ask"] = item["confirm"] or item["needs_approval"]
    history = service.history(runtime, model.name, int(record["id"]))
    state = record.get(spec.state_field)
    return {
        "state": localized(spec.labels.get(str(state)), str(state or "")),
        "state_field": spec.state_field,
        "transitions": transitions,
        "approvals": _approvals(runtime, service, model.name, int(record["id"])),
        "history": history,
        "labels": spec.labels,
        "text": {key: t(f"workflow.{key}") for key in _TEXT_KEYS},
    }


def guard_text(message: Mapping[str, str] | None) -> str:
    """Return a refused guard's message for the reader: the workflow author's, else a generic one."""
    return localized(message, "") or t("workflow.guard_refused")


def _field_labels(model: EntityModel, names: list[str]) -> str:
    locale = current_locale()
    return ", ".join(model.fields[n].label(locale) if n in model.fields else n for n in names)


def _approvals(runtime: Any, service: WorkflowService, entity: str, record_id: int) -> list[dict[str, Any]]:
    pending = service.pending_approvals(runtime, entity, record_id)
    if not pending:
        return []
    names = user_names({int(p["requested_by"]) for p in pending if p["requested_by"] is not None})
    spec = workflow_for(runtime.model, entity)
    with runtime.engine.connect() as conn:
        for row in pending:
            step = spec.transition(str(row["transition"])) if spec else None
            row["title"] = localized(step.label if step else None, str(row["transition"]))
            row["by"] = names.get(row["requested_by"], "") if row["requested_by"] is not None else ""
            row["may_decide"] = holds_any(conn, current_user.actor(), [str(row["role"])])
    return pending


def refusal_text(model: EntityModel, exc: CrmError) -> str:
    """Word a refused transition for the reader; a guard shows its message, never its expression."""
    if not isinstance(exc, TransitionRefused):
        return exc.message
    if exc.reason == "guard":
        return guard_text(exc.extra.get("guard_message"))
    if exc.reason == "required_fields":
        return t("workflow.refused_fields", fields=_field_labels(model, [p.path for p in exc.problems]))
    if exc.reason in ("role", "state", "pending"):
        return t(f"workflow.refused_{exc.reason}")
    return exc.message


def _back(entity: str, record_id: int) -> Any:
    return redirect(url_for("pages.record_detail", entity=entity, record_id=record_id))


@bp.route("/e/<entity>/<int:record_id>/transition/<name>", methods=["POST"])
@login_required
def record_transition(entity: str, record_id: int, name: str) -> Any:
    """Take a workflow transition from the record page; a refusal is shown in words."""
    model = page_entity(entity)
    service = workflow_service()
    if service is None:
        abort(404, description="workflows are not installed")
    comment = request.form.get("comment", "")[:2000]
    try:
        result = service.transition(
            services().runtime(), entity, record_id, name[:80], actor=current_user.actor(), comment=comment
        )
    except NotFound:
        raise
    except CrmError as exc:
        flash(refusal_text(model, exc), "error")
    else:
        spec = workflow_for(services().metadata.model(), entity)
        if result.status == "pending":
            flash(t("workflow.requested"))
        else:
            state = result.get(spec.state_field) if spec else ""
            label = field_text(model, spec.state_field, state) if spec else str(state)
            flash(t("workflow.moved", state=label))
    return _back(entity, record_id)


@bp.route("/e/<entity>/<int:record_id>/approvals/<int:approval_id>/<decision>", methods=["POST"])
@login_required
def record_decide(entity: str, record_id: int, approval_id: int, decision: str) -> Any:
    """Approve or reject a pending transition from the record page."""
    model = page_entity(entity)
    service = workflow_service()
    if service is None or decision not in ("approve", "reject"):
        abort(404)
    comment = request.form.get("comment", "")[:2000]
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
    except NotFound:
        raise
    except CrmError as exc:
        flash(refusal_text(model, exc), "error")
    else:
        flash(t("workflow.approved" if decision == "approve" else "workflow.rejected"))
    return _back(entity, record_id)
