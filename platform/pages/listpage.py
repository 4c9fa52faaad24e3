"""The workspace list view of an entity: filters, sort, chosen columns, saved views and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from crm_platform.i18n import current_locale, t
from crm_platform.listing.savedviews import SavedView, views_for
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.helpers import display_context, field_text
from crm_platform.pages.listoptions import assignees, transitions_of
from crm_platform.pages.views import OPERATOR_NAMES, _entity, _may, bp
from crm_platform.problemwords import worded
from crm_platform.services import services
from crm_platform.timezones import local_list_args
from form_renderer.listview import cell, choosable_columns, filter_controls, list_columns
from metamodel.access import AccessDenied
from metamodel.errors import BadQuery
from metamodel.model import EntityModel
from metamodel.records.query import ListQuery, parse_list_args
from metamodel.systables import roles

# Keys of the page's own state that are not list-query arguments.
PAGE_KEYS = frozenset({"cols", "view", "_ffield", "ids"})
MAX_SELECTED = 5_000
COUNT_CAP = 100_000  # the runtime stops counting here; the page then says "100,000+"


@dataclass(frozen=True)
class Chip:
    """One active filter, read in words, with the link that removes it."""

    text: str
    remove_url: str


def query_args() -> dict[str, list[str]]:
    """Return the request's list-query arguments (filters, q, sort, cursor), without the page's own keys."""
    return {
        key: request.args.getlist(key)
        for key in request.args
        if key not in PAGE_KEYS and request.args.getlist(key) != [""]
    }


def selected_ids() -> set[int] | None:
    """Return the ids of the rows ticked for an action on the selection (``ids=1,2``), None for all."""
    raw = [part for value in request.values.getlist("ids") for part in value.split(",") if part.strip()]
    if not raw:
        return None
    return {int(p) for p in raw[:MAX_SELECTED] if p.strip().isdigit()}


def chosen_columns() -> list[str]:
    """Return the column names the user chose (``cols``, repeated or comma-separated), in order."""
    return [name for raw in request.args.getlist("cols") for name in raw.split(",") if name]


def page_columns(model: EntityModel, restricted: Any) -> list[Any]:
    """Return the columns the list shows now: the chosen ones, else the default ones."""
    return list_columns(model, current_locale(), restricted, services().presentations, chosen_columns())


@bp.route("/e/<entity>")
@login_required
def record_list(entity: str) -> Any:
    """Show a filtered, sorted, paged list of records."""
    model = _entity(entity)
    svc = services()
    args = query_args()
    args.setdefault("count", ["true"])
    error = ""
    try:
        query = parse_list_args(model, svc.field_types, local_list_args(model, args))
        page = svc.runtime().list(entity, query, current_user.actor())
    except BadQuery as exc:
        error = "; ".join(f"{p.path}: {worded(p.message)}" for p in exc.problems) or exc.message
        query, page = None, None
    except AccessDenied as exc:
        if exc.operation != "read" or "hidden or masked" not in exc.message:
            raise
        error, query, page = exc.message, None, None  # a filter or sort on a field hidden from her
    locale = current_locale()
    restricted = reader_access()(model)
    presentations = svc.presentations
    columns = page_columns(model, restricted)
    ctx = display_context()
    rows = []
    for record in page.items if page else []:
        cells = [cell(presentations, model.fields[c.name], record, ctx, restricted) for c in columns]
        pooled = bool(model.entity.doc.get("pool")) and record.get("owner_id") is None
        raw = {c.name: record.get(c.name) for c in columns if c.editor is not None}
        rows.append(
            {
                "id": record["id"],
                "number": record.get("record_no"),
                "cells": cells,
                "pooled": pooled,
                "version": record.get("lock_version"),
                "raw": raw,
            }
        )
    views = views_for(svc.engine, int(current_user.id), entity)
    every = [f.name for f in model.column_fields()]
    return render_template(
        "pages/list.html",
        model=model,
        columns=columns,
        rows=rows,
        page=page,
        query=query,
        error=error,
        filters=filter_controls(model, locale, restricted, presentations),
        chips=filter_chips(model),
        choosable=choosable_columns(model, locale, restricted),
        chosen=[c.name for c in columns],
        views=views,
        active_view=_active_view(views),
        role_names=_role_names() if current_user.is_admin else [],
        total_text=_total_text(page.total if page else None),
        settable=[c for c in list_columns(model, locale, restricted, presentations, every) if c.editor],
        transitions=transitions_of(entity),
        assignees=assignees(),
        cells_numeric=[c.align_end for c in columns],
        pooled_entity=bool(model.entity.doc.get("pool")),
        locale=locale,
        args=request.args,
        op_labels={op: t(f"op.{op}") for op in (*OPERATOR_NAMES, "isnull")},
        may_export=_may(entity, "export"),
        may_import=_may(entity, "import"),
    ), 400 if error else 200


def _active_view(views: list[SavedView]) -> SavedView | None:
    raw = request.args.get("view", "")
    return next((v for v in views if raw.isdigit() and v.id == int(raw)), None)


def _role_names() -> list[str]:
    with services().engine.connect() as conn:
        return [str(r) for r in conn.execute(select(roles.c.name).order_by(roles.c.name)).scalars()]


def _total_text(total: int | None) -> str:
    """Say how many records match; above the counting cap, say it is at least that many."""
    if total is None:
        return ""
    if total >= COUNT_CAP:
        return t("lv.count_more", n=f"{COUNT_CAP:,}")
    return t("list.count", n=total)


def filter_chips(model: EntityModel) -> list[Chip]:
    """Return the active filters read in words ("Tier is any of Gold, Silver"), each removable."""
    chips = []
    for key, values in request.args.lists():
        name, _, op = key.partition("__")
        if name not in model.fields or key in PAGE_KEYS:
            continue
        label = model.fields[name].label(current_locale())
        remove: dict[str, Any] = {
            k: v for k, v in request.args.to_dict(flat=False).items() if k not in (key, "cursor", "view")
        }
        for value in values:
            chips.append(
                Chip(
                    f"{label} {_condition(model, name, op or 'eq', value)}",
                    url_for("pages.record_list", entity=model.name, **remove),
                )
            )
    return chips


def _condition(model: EntityModel, name: str, op: str, value: str) -> str:
    if op == "isnull":
        return t("op.isnull_true") if value.lower() in ("1", "true", "yes") else t("op.isnull_false")
    if op == "between" and "," in value:
        low, _, high = value.partition(",")
        return f"{t('op.between')} {_value_text(model, name, low)} {t('lv.and')} {_value_text(model, name, high)}"
    return f"{t(f'op.{op}')} {_value_text(model, name, value)}"


def _value_text(model: EntityModel, name: str, value: str) -> str:
    definition = model.fields[name]
    if definition.type == "link" and value.isdigit():
        target = str(definition.get("target"))
        titles = services().runtime().titles(target, [int(value)], actor=current_user.actor())
        return titles.get(int(value), f"#{value}")
    return field_text(model, name, value)


def request_query(model: EntityModel) -> ListQuery:
    """Return the list's query from the request arguments (for the export and bulk actions)."""
    args = {k: v for k, v in query_args().items() if k != "cursor"}
    return parse_list_args(model, services().field_types, local_list_args(model, args))
