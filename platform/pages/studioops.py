"""The studio's operations pages: the audit log (filter by user, entity, record, time; CSV export), the
webhook and e-mail delivery log (status, attempts, last error, retry now), the scheduler's time rules and the
rule-error log (failures per rule and record; rules switched off after repeated failures, switch on).

They read and act through the same functions as /api/v1/audit, /api/v1/deliveries, /api/v1/scheduler and
/api/v1/rule-errors.
Administrators only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from crm_platform.api.audit import _query as audit_query
from crm_platform.api.ops import deliveries_page, retry_delivery, scheduler_rows
from crm_platform.api.ruleerrors import rule_errors_page
from crm_platform.i18n import t
from crm_platform.pages.studioadmin import admin_page, entity_choices, error_view, render
from crm_platform.services import services
from metamodel.audit import browse
from metamodel.errors import CrmError
from rule_engine.errorlog import failure_limit
from rule_engine.ops.deliveries import KINDS, STATUSES, delivery
from rule_engine.ops.ruleerrors import switch_on

bp = Blueprint("ops", __name__)
_AUDIT_FILTERS = ("actor", "entity", "record_id", "action", "since", "until")


@bp.get("/ops/audit")
@admin_page
def audit() -> Any:
    """The audit log, newest first, filtered by user, entity, record, action and time."""
    filters = {k: (request.args.get(k) or "")[:80] for k in _AUDIT_FILTERS}
    items: list[dict[str, Any]] = []
    cursor = None
    error = None
    status = 200
    try:
        with services().engine.connect() as conn:
            items, cursor = browse(conn, audit_query())
    except CrmError as exc:
        error, status = error_view(exc), 422
    wanted: dict[str, Any] = {k: v for k, v in filters.items() if v}
    return render(
        "studio/ops_audit.html",
        status,
        items=items,
        next_url=url_for("studio.ops.audit", **wanted, cursor=cursor) if cursor else None,
        export_url=url_for("api.audit_export", **wanted),
        filters=filters,
        filtered=bool(wanted),
        entities=entity_choices(),
        error=error,
        section="audit",
    )


@bp.get("/ops/deliveries")
@admin_page
def deliveries() -> Any:
    """The delivery log: each webhook and e-mail with status, attempts and last error."""
    try:
        found, error, status = deliveries_page(), None, 200
    except CrmError as exc:
        found, error, status = {"items": [], "total": 0}, error_view(exc), 422
    chosen = request.args.get("id") or ""
    opened = None
    if chosen.isdigit() and len(chosen) < 19:
        try:
            opened = delivery(services().engine, int(chosen))
        except CrmError:
            opened = None
    return render(
        "studio/ops_deliveries.html",
        status,
        items=found["items"],
        total=found["total"],
        opened=opened,
        status_filter=request.args.get("status") or "",
        kind_filter=request.args.get("kind") or "",
        statuses=[(s, t(f"ops.status.{s}")) for s in STATUSES],
        kinds=[(k, t(f"ops.kind.{k}")) for k in KINDS],
        error=error,
        section="deliveries",
    )


@bp.post("/ops/deliveries/<message_id>/retry")
@admin_page
def retry(message_id: str) -> Any:
    """Retry one delivery now: it is due at once for the scheduler's next delivery run."""
    if not message_id.isdigit() or len(message_id) > 18:
        return redirect(url_for("studio.ops.deliveries"))
    try:
        retry_delivery(int(message_id))
    except CrmError as exc:
        flash(error_view(exc)["message"], "error")
        return redirect(url_for("studio.ops.deliveries"))
    flash(t("ops.retry_queued", id=message_id))
    return redirect(url_for("studio.ops.deliveries", id=message_id))


@bp.get("/ops/scheduler")
@admin_page
def scheduler() -> Any:
    """The time rules: schedule, next due, last run, backlog, failures and the last error."""
    return render("studio/ops_scheduler.html", rules=scheduler_rows(), section="scheduler")


_STEPS = ("condition", "trigger")


def _record_titles(items: list[dict[str, Any]], entities: set[str]) -> dict[str, str]:
    """Name each logged record by its title as the admin may see it (``"entity:id"`` -> title)."""
    wanted: dict[str, set[int]] = {}
    for item in items:
        if item.get("record_id") and item.get("entity") in entities:
            wanted.setdefault(str(item["entity"]), set()).add(int(item["record_id"]))
    runtime, found = services().runtime(), {}
    for entity, ids in wanted.items():
        titles = runtime.titles(entity, sorted(ids), actor=current_user.actor())
        found.update({f"{entity}:{record_id}": title for record_id, title in titles.items()})
    return found


@bp.get("/ops/rule-errors")
@admin_page
def rule_errors() -> Any:
    """The rule-error log (latest first, ?rule= one rule) and the rules switched off, with switch on."""
    try:
        found, error, status = rule_errors_page(), None, 200
    except CrmError as exc:
        found, error, status = {"items": [], "total": 0, "switched_off": []}, error_view(exc), 422
    svc = services()
    entities = set(svc.metadata.model().entities) if svc.metadata.active_version() is not None else set()
    return render(
        "studio/ops_rule_errors.html",
        status,
        titles=_record_titles(found["items"], entities),
        items=found["items"],
        total=found["total"],
        switched_off=found["switched_off"],
        rule_filter=(request.args.get("rule") or "")[:100],
        limit=failure_limit(svc.rules.services),
        steps=_STEPS,
        entities=entities,
        error=error,
        section="rule_errors",
    )


@bp.post("/ops/rule-errors/<rule>/enable")
@admin_page
def switch_on_rule(rule: str) -> Any:
    """Switch a rule that failed too often back on."""
    try:
        switch_on(services().engine, rule[:100])
    except CrmError as exc:
        flash(error_view(exc)["message"], "error")
        return redirect(url_for("studio.ops.rule_errors"))
    flash(t("ops.switched_on", rule=rule[:100]))
    return redirect(url_for("studio.ops.rule_errors"))
