"""The report builder: pick an entity, dimensions, measures, filters, sort, top N and a chart; see the result
change as you pick (htmx); save it for yourself, or share it with roles when you may configure the site."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from crm_platform.api.common import username
from crm_platform.i18n import current_locale, t
from crm_platform.pages.dashboardedit import report_label
from crm_platform.pages.nav import may_configure, readable_entities
from crm_platform.pages.reports import failure_text
from crm_platform.reporting.acting import actor
from crm_platform.reporting.builder import (
    DIMENSION_SLOTS,
    DURATION_SLOT,
    FILTER_SLOTS,
    MEASURE_SLOTS,
    OPERATORS,
    Built,
    check_naming,
    form_values,
    pickers,
    place_problems,
    read_form,
    seen_fields,
)
from crm_platform.reporting.charts import CHART_TYPES, chart_spec, drill_url
from crm_platform.reporting.reports import find_report, run_report
from crm_platform.reporting.sharing import name_taken, role_choices, save_mine, save_shared
from crm_platform.services import services
from metamodel.access import AccessDenied
from metamodel.errors import BadQuery, CrmError
from metamodel.records.measures import DURATION_FUNCTIONS, DURATION_UNITS

bp = Blueprint("report_builder", __name__)


def _entities() -> list[tuple[str, str]]:
    return [(m.name, m.entity.label(current_locale())) for m in readable_entities()]


def _page(entity: str, values: dict[str, str], built: Built | None = None, status: int = 200) -> Any:
    """Render the builder on ``entity`` with the form's ``values`` (and the errors of a refused save)."""
    runtime = services().runtime()
    if entity not in runtime.model.entities:
        abort(404)
    model = runtime.model.entity(entity)
    with runtime.engine.connect() as conn:
        fields = seen_fields(conn, actor(), model)
    context = {
        "entities": _entities(),
        "entity": entity,
        "values": values,
        "pick": pickers(model, runtime.registry, fields, current_locale()),
        "slots": {"dims": DIMENSION_SLOTS, "measures": MEASURE_SLOTS, "filters": FILTER_SLOTS},
        "operators": OPERATORS,
        "durations": {"functions": DURATION_FUNCTIONS, "units": tuple(DURATION_UNITS)},
        "charts": CHART_TYPES,
        "may_share": may_configure(),
        "roles": role_choices(services(), current_locale()) if may_configure() else [],
        "chosen_roles": set(request.form.getlist("roles"))
        if request.method == "POST"
        else set(values.get("roles", "").split(",")),
        "errors": built.errors if built else {},
        **_preview(entity, values, built),
    }
    return render_template("reports/builder.html", **context), status


def _preview(entity: str, values: dict[str, str], built: Built | None = None) -> dict[str, Any]:
    """Run the built report for the preview: its result and chart, or the problems in words by form slot."""
    built = built or read_form(values, entity)
    if built.errors.get("limit"):
        return {"result": None, "error": "", "errors": built.errors, "chart": None, "label": ""}
    try:
        result = run_report(services().runtime(), {**built.doc, "name": "preview"})
    except BadQuery as exc:
        place_problems(built, exc.problems)
        return {"result": None, "error": "", "errors": built.errors, "chart": None, "label": ""}
    except (AccessDenied, CrmError) as exc:
        return {
            "result": None,
            "error": failure_text(exc),
            "errors": built.errors,
            "chart": None,
            "label": "",
        }
    for row in result["rows"]:
        row["drill_url"] = drill_url(entity, row.get("drill"))
    label = report_label(built.doc) if built.doc.get("label") else t("report.builder.preview")
    return {
        "result": result,
        "chart": chart_spec(result),
        "error": "",
        "errors": built.errors,
        "label": label,
    }


@bp.get("/reports/new")
@login_required
def new_report() -> Any:
    """Show an empty builder on the chosen entity (the first readable one by default)."""
    entities = _entities()
    if not entities:
        abort(403)
    entity = request.args.get("entity") or entities[0][0]
    values = {"m1": "count", "chart": "bar"}
    return _page(entity, values)


@bp.get("/reports/<name>/edit")
@login_required
def edit_report(name: str) -> Any:
    """Open a saved report in the builder (saving a shared one needs the right to configure)."""
    doc = find_report(services().runtime(), name[:40])
    values = form_values(doc)
    values["scope"] = "personal" if doc.get("personal") else "shared"
    values["roles"] = ",".join(doc.get("roles") or [])
    return _page(str(doc["entity"]), values)


@bp.post("/reports/builder/preview")
@login_required
def preview() -> Any:
    """Answer the builder's live preview: the result box, and each slot's error swapped in out of band."""
    entity = request.form.get("entity") or ""
    if entity not in services().runtime().model.entities:
        abort(404)
    values = request.form.to_dict()
    context = _preview(entity, values)
    return render_template("reports/_preview.html", slots=_all_slots(), **context)


def _all_slots() -> list[str]:
    return [*DIMENSION_SLOTS, *MEASURE_SLOTS, DURATION_SLOT, *FILTER_SLOTS, "sort", "limit", "general"]


@bp.post("/reports/builder/save")
@login_required
def save() -> Any:
    """Save the built report: personal at once, or shared with roles (configure right) via the metadata."""
    entity = request.form.get("entity") or ""
    values = request.form.to_dict()
    built = read_form(values, entity)
    check_naming(built)
    shared = request.form.get("scope") == "shared"
    if shared and not may_configure():
        built.errors["scope"] = t("report.problem.share")
    user_id = int(actor().user_id or 0)
    name = str(built.doc["name"])
    if not built.errors.get("name") and name_taken(services(), user_id, name, shared):
        built.errors["name"] = t("report.problem.taken")
    if entity in services().runtime().model.entities and not built.errors:
        checked = _preview(entity, values, built)
        if checked["result"] is None and not built.errors:
            built.errors["general"] = checked["error"]
    if built.errors:
        return _page(entity, values, built, status=400)
    if shared:
        built.doc["roles"] = [r for r in request.form.getlist("roles") if r]
        if save_shared(services(), built.doc, username()):
            flash(t("report.builder.shared_done"))
        else:
            flash(t("report.builder.drafted"))
            return redirect(url_for("report_pages.reports"))
    else:
        save_mine(services(), user_id, built.doc)
        flash(t("report.builder.saved"))
    return redirect(url_for("report_pages.report", name=name))
