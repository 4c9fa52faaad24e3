"""Generated end-user pages: entity list, record list, detail, create, edit and delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.submit import save_from_form
from crm_platform.services import services
from form_renderer.layout import build_form
from form_renderer.listview import cell_text, filter_controls, list_columns
from metamodel.errors import BadQuery, NotFound
from metamodel.model import EntityModel
from metamodel.records.query import parse_list_args

bp = Blueprint("pages", __name__)
LOOKUP_LIMIT = 20
OPERATOR_NAMES = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "in",
    "contains",
    "startswith",
    "has_any",
    "has_all",
)


def _entity(name: str) -> EntityModel:
    model = services().metadata.model().entities.get(name)
    if model is None or model.entity.is_child:
        abort(404, description=f"entity '{name}' does not exist")
    return model


@bp.route("/")
@login_required
def home() -> Any:
    """Show the entities a user can open."""
    site = services().metadata.model()
    entities = [m for m in site.entities.values() if not m.entity.is_child]
    return render_template("pages/home.html", entities=entities, locale=current_locale())


@bp.route("/e/<entity>")
@login_required
def record_list(entity: str) -> Any:
    """Show a filtered, sorted, paged list of records."""
    model = _entity(entity)
    svc = services()
    args = {key: request.args.getlist(key) for key in request.args if request.args.getlist(key) != [""]}
    args.setdefault("count", ["true"])
    error = ""
    try:
        query = parse_list_args(model, svc.field_types, args)
        page = svc.runtime().list(entity, query, current_user.actor())
    except BadQuery as exc:
        error = "; ".join(f"{p.path}: {p.message}" for p in exc.problems) or exc.message
        query, page = None, None
    locale = current_locale()
    columns = list_columns(model, locale)
    rows = []
    for record in page.items if page else []:
        cells = [cell_text(model.fields[c.name], model, record, locale) for c in columns]
        rows.append({"id": record["id"], "number": record.get("record_no"), "cells": cells})
    status = 400 if error else 200
    return render_template(
        "pages/list.html",
        model=model,
        columns=columns,
        rows=rows,
        page=page,
        query=query,
        error=error,
        filters=filter_controls(model, locale),
        locale=locale,
        args=request.args,
        op_labels={op: t(f"op.{op}") for op in OPERATOR_NAMES},
    ), status


@bp.route("/e/<entity>/<int:record_id>")
@login_required
def record_detail(entity: str, record_id: int) -> Any:
    """Show one record read-only, laid out like its form."""
    model = _entity(entity)
    site = services().metadata.model()
    record = services().runtime().get(entity, record_id, current_user.actor())
    form = build_form(site, model, record, {}, current_locale(), record.get("_titles") or {})
    return render_template("pages/detail.html", model=model, record=record, form=form)


@bp.route("/e/<entity>/new", methods=["GET", "POST"])
@login_required
def record_new(entity: str) -> Any:
    """Show the create form and save it."""
    model = _entity(entity)
    if request.method == "POST":
        return save_from_form(model, None)
    site = services().metadata.model()
    defaults = {
        f.name: model.types[f.name].serialize(f, f.get("default"))
        for f in model.entity.fields
        if f.get("default") is not None
    }
    form = build_form(site, model, defaults, {}, current_locale())
    return render_template("pages/form.html", model=model, form=form, record=None)


@bp.route("/e/<entity>/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def record_edit(entity: str, record_id: int) -> Any:
    """Show the edit form and save it with optimistic locking."""
    model = _entity(entity)
    if request.method == "POST":
        return save_from_form(model, record_id)
    site = services().metadata.model()
    record = services().runtime().get(entity, record_id, current_user.actor())
    form = build_form(site, model, record, {}, current_locale(), record.get("_titles") or {})
    return render_template("pages/form.html", model=model, form=form, record=record)


@bp.route("/e/<entity>/<int:record_id>/delete", methods=["POST"])
@login_required
def record_delete(entity: str, record_id: int) -> Any:
    """Delete a record (the page asks for confirmation first)."""
    _entity(entity)
    version = request.form.get("lock_version", "")
    services().runtime().delete(
        entity, record_id, current_user.actor(), int(version) if version.isdigit() else None
    )
    flash(t("record.deleted"))
    return redirect(url_for("pages.record_list", entity=entity))


@bp.route("/e/<entity>/lookup")
@login_required
def record_lookup(entity: str) -> Any:
    """Return ``[{id, title}]`` of records matching ``q``, for link pickers."""
    model = services().metadata.model().entities.get(entity)
    if model is None:
        return jsonify([]), 404
    svc = services()
    args: dict[str, list[str]] = {"limit": [str(LOOKUP_LIMIT)]}
    text = request.args.get("q", "").strip()
    if text:
        args["q"] = [text]
    page = svc.runtime().list(entity, parse_list_args(model, svc.field_types, args), current_user.actor())
    titles = svc.runtime().titles(entity, [r["id"] for r in page.items]) if page.items else {}
    return jsonify([{"id": r["id"], "title": titles.get(r["id"], f"#{r['id']}")} for r in page.items])


@bp.route("/files/<int:attachment_id>")
@login_required
def attachment_file(attachment_id: int) -> Any:
    """Download an attachment."""
    try:
        stored, path = services().attachments.get(attachment_id)
    except NotFound:
        abort(404)
    response = send_file(
        path, mimetype=stored.content_type, as_attachment=True, download_name=stored.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
