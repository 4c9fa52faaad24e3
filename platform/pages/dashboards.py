"""Dashboard pages: the user's dashboards, and one dashboard's grid whose widgets load one by one (htmx)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, url_for
from flask_login import login_required

from crm_platform.api.common import actor
from crm_platform.i18n import current_locale, t
from crm_platform.pages.dashboardedit import may_edit, report_label
from crm_platform.pages.reports import failure_text, result_context
from crm_platform.reporting.boards import MY_BOARD
from crm_platform.reporting.reports import find_report, text_of
from crm_platform.reporting.widgets import described, find_dashboard, number, short_list, visible_dashboards
from crm_platform.services import services
from metamodel.access.grants import held_roles
from metamodel.errors import CrmError, NotFound

bp = Blueprint("dashboard_pages", __name__)
log = logging.getLogger(__name__)


def assigned_home() -> dict[str, Any] | None:
    """Return the dashboard marked home for one of the roles the user holds (her first page), or None."""
    runtime = services().runtime()
    docs = [d for d in runtime.model.bundle.docs("dashboard").values() if d.get("home") and d.get("roles")]
    if not docs:
        return None
    with runtime.engine.connect() as conn:
        mine = held_roles(conn, int(actor().user_id or 0), runtime.clock())
    found = sorted((d for d in docs if set(d["roles"]) & mine), key=lambda d: str(d["name"]))
    return described(dict(found[0])) if found else None


@bp.get("/dashboards")
@login_required
def dashboards() -> Any:
    """List the dashboards the user may see."""
    locale = current_locale()
    boards = visible_dashboards(services().runtime())
    items = [
        {
            "url": url_for("dashboard_pages.dashboard", name=d["name"]),
            "icon": "layout-dashboard",
            "label": text_of(d.get("label"), locale) or d["name"],
            "widgets": len(d.get("widgets") or []),
            "personal": bool(d.get("personal")),
        }
        for d in boards
    ]
    if not any(d["name"] == MY_BOARD for d in boards):
        items.append(
            {
                "url": url_for("dashboard_pages.dashboard", name=MY_BOARD),
                "icon": "layout-dashboard",
                "label": t("dashboard.mine"),
                "widgets": 0,
                "personal": True,
            }
        )
    return render_template("dashboards/list.html", items=items)


@bp.get("/dashboards/<name>")
@login_required
def dashboard(name: str) -> Any:
    """Show a dashboard's grid; every widget fetches its own data afterwards."""
    doc = find_dashboard(services().runtime(), name[:40])
    return render_template("dashboards/view.html", board=described(doc), may_edit=may_edit(doc))


@bp.get("/dashboards/<name>/widgets/<int:index>")
@login_required
def widget(name: str, index: int) -> Any:
    """Render one widget's content; a failing widget says so in words and never breaks the page."""
    runtime = services().runtime()
    try:
        doc = find_dashboard(runtime, name[:40])
        widgets = doc.get("widgets") or []
        if not 0 <= index < len(widgets):
            return render_template("dashboards/widget.html", error=t("dashboard.err.no_widget"))
        spec = widgets[index]
        context: dict[str, Any] = {"kind": spec["type"], "error": ""}
        if spec["type"] == "report":
            try:
                report = find_report(runtime, str(spec.get("report"))[:40])
            except NotFound:
                return render_template("dashboards/widget.html", error=t("dashboard.err.no_report"))
            context.update(result_context(report), report=report, label=report_label(report))
        elif spec["type"] == "number":
            context["data"] = number(runtime, spec)
            context["list_url"] = url_for("pages.record_list", entity=spec["entity"])
        else:
            context["data"] = short_list(runtime, spec)
            context["model"] = runtime.model.entity(str(spec["entity"]))
        return render_template("dashboards/widget.html", **context)
    except CrmError as exc:
        return render_template("dashboards/widget.html", error=failure_text(exc))
    except Exception:  # one broken widget must not take the dashboard down: log it, say so in its box
        log.exception("dashboard %s widget %s failed", name, index)
        return render_template("dashboards/widget.html", error=t("dashboard.err.unexpected"))
