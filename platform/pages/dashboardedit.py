"""Editing dashboards: add a report or a saved view to a dashboard, and reorder (SortableJS), resize or remove
its widgets. Her own dashboard changes at once; a shared one (who may configure) through the metadata."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from crm_platform.api.common import username
from crm_platform.i18n import current_locale, t
from crm_platform.listing.savedviews import views_for
from crm_platform.pages.nav import may_configure, readable_entities
from crm_platform.reporting.acting import actor
from crm_platform.reporting.boards import MY_BOARD, WIDTHS, rearranged, save_board, with_widget
from crm_platform.reporting.reports import find_report, text_of, visible_reports
from crm_platform.reporting.sharing import save_shared
from crm_platform.reporting.widgets import described, find_dashboard, visible_dashboards
from crm_platform.services import services
from metamodel.errors import CrmError, NotFound

bp = Blueprint("dashboard_edit", __name__)


def report_label(doc: dict[str, Any]) -> str:
    """Return a report's label in the reader's language."""
    return text_of(doc.get("label"), current_locale()) or str(doc["name"])


def may_edit(doc: dict[str, Any]) -> bool:
    """Whether the user may change a dashboard: her own, or a shared one when she may configure."""
    return bool(doc.get("personal")) or may_configure()


def targets(shared_source: bool) -> list[tuple[str, str]]:
    """Return the dashboards a widget may be added to: hers first, then (configure right) shared ones
    when the widget's source is shared too (a shared dashboard cannot show a personal report)."""
    locale = current_locale()
    boards = visible_dashboards(services().runtime())
    found = [(MY_BOARD, t("dashboard.mine"))]
    found += [
        (str(d["name"]), text_of(d.get("label"), locale) or str(d["name"]))
        for d in boards
        if d.get("personal") and d["name"] != MY_BOARD
    ]
    if shared_source and may_configure():
        found += [
            (str(d["name"]), text_of(d.get("label"), locale) or str(d["name"]))
            for d in boards
            if not d.get("personal")
        ]
    return found


def sources() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return what may be added to a dashboard, in groups: the reports and the saved views she sees."""
    runtime = services().runtime()
    reports = [(f"report:{d['name']}", report_label(d)) for d in visible_reports(runtime)]
    views = []
    uid = int(actor().user_id or 0)
    for model in readable_entities():
        for view in views_for(services().engine, uid, model.name):
            views.append(
                (f"view:{model.name}:{view.name}", f"{model.entity.label(current_locale())} · {view.name}")
            )
    groups = [(t("report.title"), reports), (t("dashboard.add.views"), views)]
    return [(label, items) for label, items in groups if items]


def widget_of(source: str) -> dict[str, Any] | None:
    """Return the widget a source choice adds (a report's chart, a saved view's short list), or None."""
    kind, _, rest = source.partition(":")
    runtime = services().runtime()
    if kind == "report":
        try:
            doc = find_report(runtime, rest[:40])
        except NotFound:
            return None
        # No title of its own: the widget shows the report's label in each viewer's language.
        return {"type": "report", "report": str(doc["name"]), "width": 6}
    entity, _, name = rest.partition(":")
    if kind == "view" and entity in runtime.model.entities:
        if any(v.name == name for v in views_for(runtime.engine, int(actor().user_id or 0), entity)):
            return {"type": "list", "entity": entity, "view": name, "width": 6}
    return None


def _store(doc: dict[str, Any]) -> bool:
    """Save a changed dashboard; True when it shows at once (hers, or shared and published)."""
    if doc.get("personal"):
        save_board(services().engine, int(actor().user_id or 0), doc)
        return True
    return save_shared(services(), doc, username(), kind="dashboard")


@bp.post("/dashboards/add")
@login_required
def add_widget() -> Any:
    """Add a report or saved view to a dashboard she may change; back to the page she came from on refusal."""
    runtime = services().runtime()
    target = (request.form.get("target") or MY_BOARD)[:40]
    widget = widget_of(request.form.get("source") or "")
    back = request.form.get("back") or url_for("dashboard_pages.dashboards")
    try:
        doc = find_dashboard(runtime, target)
    except NotFound:
        doc = None
    if widget is None or doc is None or not may_edit(doc):
        flash(t("dashboard.edit.denied"), "error")
        return redirect(
            back
            if back.startswith("/") and not back.startswith("//")
            else url_for("dashboard_pages.dashboards")
        )
    changed = with_widget(doc, widget)
    if changed is None:
        flash(t("dashboard.edit.full"), "error")
        return redirect(url_for("dashboard_pages.dashboard", name=target))
    label = described(doc)["label"]
    try:
        shown = _store(changed)
    except CrmError as exc:
        flash(t("report.err.failed", detail=exc.message), "error")
        return redirect(url_for("dashboard_pages.dashboard", name=target))
    flash(t("dashboard.add.done" if shown else "dashboard.add.drafted", name=label))
    return redirect(url_for("dashboard_pages.dashboard", name=target))


@bp.route("/dashboards/<name>/edit", methods=["GET", "POST"])
@login_required
def edit(name: str) -> Any:
    """Show a dashboard's widgets to reorder, resize, remove and add to; save them in one go."""
    doc = find_dashboard(services().runtime(), name[:40])
    if not may_edit(doc):
        abort(403)
    if request.method == "POST":
        changed = rearranged(
            doc, request.form.getlist("order"), _widths(), set(request.form.getlist("remove"))
        )
        added = widget_of(request.form.get("source") or "")
        if added is not None:
            changed = with_widget(changed, added) or changed
        try:
            shown = _store(changed)
        except CrmError as exc:
            flash(t("report.err.failed", detail=exc.message), "error")
            return redirect(url_for("dashboard_edit.edit", name=name))
        flash(t("dashboard.edit.saved" if shown else "dashboard.edit.drafted"))
        return redirect(url_for("dashboard_pages.dashboard", name=name))
    board = described(doc)
    return render_template("dashboards/edit.html", board=board, widths=WIDTHS, sources=sources())


def _widths() -> dict[str, str]:
    return {key[len("width_") :]: value for key, value in request.form.items() if key.startswith("width_")}
