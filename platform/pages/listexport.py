"""The list view's export (CSV or XLSX, as shown: columns, filters, labels, masks) and saved-view forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from flask import Response, abort, flash, redirect, request, send_file, stream_with_context, url_for
from flask_login import current_user, login_required

from crm_platform.auditing import current_origin
from crm_platform.i18n import current_locale, t
from crm_platform.listing.export import (
    CSV,
    FORMATS,
    XLSX,
    ExportColumn,
    audit_export,
    authorize,
    csv_lines,
    record_pages,
    text_rows,
    xlsx_file,
)
from crm_platform.listing.savedviews import delete_view, save_view
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.helpers import display_context
from crm_platform.pages.listpage import page_columns, query_args, request_query, selected_ids
from crm_platform.pages.views import _entity, bp
from crm_platform.services import services
from metamodel.errors import BadQuery


@bp.route("/e/<entity>/export.<fmt>")
@login_required
def record_export(entity: str, fmt: str) -> Any:
    """Download the list as it is shown (its filters, sort and columns; masked as on screen), audited."""
    model = _entity(entity)
    if fmt not in FORMATS:
        abort(404, description=f"no export format '{fmt[:10]}'; use csv or xlsx")
    runtime = services().runtime()
    who = authorize(runtime, entity, current_user.actor())
    query = request_query(model)
    restricted = reader_access()(model)
    shown = page_columns(model, restricted)
    title_field = model.entity.title_field
    columns = [] if title_field in {c.name for c in shown} else [ExportColumn("#", None)]
    columns += [
        ExportColumn(c.label, model.fields[c.name], getattr(restricted.get(c.name), "level", "") == "masked")
        for c in shown
    ]
    pages = record_pages(runtime, entity, query, who, selected_ids())
    first = next(pages)  # a refused filter or sort is an error page, not a broken file
    audit_export(runtime, entity, who, fmt, query_args(), current_origin())

    def all_pages() -> Any:
        yield first
        yield from pages

    header = [c.label for c in columns]
    rows = text_rows(all_pages(), columns, services().presentations, display_context())
    name = f"{entity}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv")
        response.headers["Content-Type"] = CSV
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    title = model.entity.label(current_locale())
    return send_file(xlsx_file(header, rows, title), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/e/<entity>/views", methods=["POST"])
@login_required
def saved_view_save(entity: str) -> Any:
    """Save the list's current filters, sort and columns under a name (an admin may share it to roles)."""
    _entity(entity)
    parsed = parse_qs(request.form.get("query", "")[:8000])
    columns = [n for raw in parsed.get("cols", []) for n in raw.split(",") if n]
    try:
        view = save_view(
            services().engine,
            int(current_user.id),
            bool(current_user.is_admin),
            entity,
            request.form.get("name", ""),
            parsed,
            columns,
            request.form.getlist("roles"),
        )
    except BadQuery as exc:
        flash("; ".join(p.message for p in exc.problems) or exc.message, "error")
        return redirect(url_for("pages.record_list", entity=entity) + _qs(parsed))
    flash(t("lv.view_saved", name=view.name))
    target = dict(view.query, view=[str(view.id)], **({"cols": [",".join(columns)]} if columns else {}))
    return redirect(url_for("pages.record_list", entity=entity) + _qs(target))


def _qs(values: dict[str, list[str]]) -> str:
    text = urlencode([(k, v) for k, vs in values.items() for v in vs])
    return f"?{text}" if text else ""


@bp.route("/e/<entity>/views/<int:view_id>/delete", methods=["POST"])
@login_required
def saved_view_delete(entity: str, view_id: int) -> Any:
    """Delete a saved view (her own; a shared one when she is an administrator)."""
    _entity(entity)
    if not delete_view(services().engine, int(current_user.id), bool(current_user.is_admin), entity, view_id):
        abort(404, description="no such view")
    flash(t("lv.view_deleted"))
    return redirect(url_for("pages.record_list", entity=entity))
