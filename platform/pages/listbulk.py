"""The list view's bulk actions on ticked rows and in-place cell edits, both through the record runtime."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.listing import bulk
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.helpers import display_context
from crm_platform.pages.listpage import selected_ids
from crm_platform.pages.submit import _worded
from crm_platform.pages.views import _entity, bp
from crm_platform.pages.workflowpanel import workflow_service as _workflow_service
from crm_platform.services import services
from crm_platform.timezones import form_reader
from form_renderer.listview import cell
from metamodel.errors import CrmError
from metamodel.model import EntityModel
from rule_engine.fieldrules import messages_in

MAX_REFUSALS_SHOWN = 5


@bp.route("/e/<entity>/bulk", methods=["POST"])
@login_required
def record_bulk(entity: str) -> Any:
    """Run one action on the ticked records, each on its own; report what was done and what was refused."""
    model = _entity(entity)
    ids = sorted(selected_ids() or set())
    back = url_for("pages.record_list", entity=entity) + _back_query()
    if not ids:
        flash(t("lv.bulk_none"), "error")
        return redirect(back)
    with messages_in(current_locale()):
        result = _run(model, ids, request.form.get("action", ""))
    if result.done:
        flash(t("lv.bulk_done", n=len(result.done)))
    if result.refused:
        shown = "; ".join(f"#{rid}: {why}" for rid, why in result.refused[:MAX_REFUSALS_SHOWN])
        more = len(result.refused) - MAX_REFUSALS_SHOWN
        flash(
            t("lv.bulk_refused", n=len(result.refused), details=shown + (f" (+{more})" if more > 0 else "")),
            "error",
        )
    return redirect(back)


def _run(model: EntityModel, ids: list[int], action: str) -> bulk.BulkResult:
    runtime = services().runtime()
    actor = current_user.actor()
    if action == "set":
        name = request.form.get("field", "")
        if name not in model.fields:
            abort(400, description="choose a field to set")
        return bulk.set_field(
            runtime, model.name, ids, name, request.form.getlist("value"), actor, form_reader()
        )
    if action == "assign":
        owner = request.form.get("owner", "")
        return bulk.assign(runtime, model.name, ids, int(owner) if owner.isdigit() else None, actor)
    if action == "delete":
        return bulk.delete(runtime, model.name, ids, actor)
    if action.startswith("transition:"):
        service = _workflow_service()
        if service is None:
            abort(404, description="workflows are not installed")
        return bulk.transition(service, runtime, model.name, ids, action.partition(":")[2][:80], actor)
    abort(400, description="unknown bulk action")


def _back_query() -> str:
    text = request.form.get("back", "")[:4000]
    return f"?{text}" if text and not text.startswith(("/", "?")) else ""


@bp.route("/e/<entity>/<int:record_id>/cell", methods=["POST"])
@login_required
def record_cell(entity: str, record_id: int) -> Any:
    """Change one field of a record in place, validated exactly as the form does; answer the new cell or the error."""
    model = _entity(entity)
    name = request.form.get("field", "")
    if name not in model.fields:
        return jsonify({"error": t("lv.cell_unknown")}), 400
    runtime = services().runtime()
    version = request.form.get("lock_version", "")
    try:
        with messages_in(current_locale()):
            values = bulk.form_values(
                runtime.model, entity, {name: request.form.getlist("value")}, form_reader()
            )
            record = runtime.update(
                entity, record_id, values, current_user.actor(), int(version) if version.isdigit() else None
            )
    except CrmError as exc:
        problems = [_worded(p) for p in exc.problems if p.path in (name, "")] or [bulk.problem_text(exc)]
        return jsonify({"error": "; ".join(problems)}), exc.status if exc.status != 400 else 422
    record = runtime.get(entity, record_id, current_user.actor())
    html = cell(
        services().presentations, model.fields[name], record, display_context(), reader_access()(model)
    )
    return jsonify({"html": str(html), "value": record.get(name), "lock_version": record.get("lock_version")})
