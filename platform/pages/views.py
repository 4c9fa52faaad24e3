"""Generated end-user pages: entity list, record list, detail, create, edit and delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm_platform.attachmentfiles import send_attachment
from crm_platform.i18n import current_locale, t
from crm_platform.pages.dashboards import assigned_home
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.formstate import answer_form_state, states_for
from crm_platform.pages.nav import navigation
from crm_platform.pages.related import prefilled_links
from crm_platform.pages.submit import save_from_form
from crm_platform.services import services
from form_renderer.layout import build_form
from metamodel.access import AccessDenied, require
from metamodel.errors import NotFound
from metamodel.model import EntityModel
from metamodel.records.query import ListQuery, parse_list_args
from rule_engine.fieldrules import messages_in

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
    """The landing page: her role's home dashboard if one is assigned, else a tile per entity she may read."""
    board = None if request.args.get("apps") else assigned_home()
    if board is not None:
        return render_template("dashboards/view.html", board=board, is_home=True)
    groups = navigation()
    counts = {e.name: _count(e.name) for group in groups for e in group.entities}
    return render_template("pages/home.html", groups=groups, counts=counts, locale=current_locale())


def _count(entity: str) -> int | None:
    """Return how many records of ``entity`` the user sees, or None when her roles refuse the list."""
    try:
        page = services().runtime().list(entity, ListQuery(limit=1, count=True), current_user.actor())
    except AccessDenied:
        return None
    return page.total


def _may(entity: str, operation: str) -> bool:
    """Whether the user's roles allow ``operation`` (export, import) on the entity, to offer its button."""
    with services().engine.connect() as conn:
        try:
            require(conn, current_user.actor(), entity, operation)
        except AccessDenied:
            return False
    return True


@bp.route("/e/<entity>/new", methods=["GET", "POST"])
@login_required
def record_new(entity: str) -> Any:
    """Show the create form and save it."""
    model = _entity(entity)
    if request.method == "POST":
        with messages_in(current_locale()):
            return save_from_form(model, None)
    site = services().metadata.model()
    defaults = {
        f.name: model.types[f.name].serialize(f, f.get("default"))
        for f in model.entity.fields
        if f.get("default") is not None
    }
    links, titles = prefilled_links(model, request.args)  # "New" of a related list fills in its link
    defaults.update(links)
    form = build_form(
        site,
        model,
        defaults,
        {},
        current_locale(),
        titles,
        reader_access(),
        services().presentations,
        states_for(model, defaults, None),
    )
    return render_template("pages/form.html", model=model, form=form, record=None)


@bp.route("/e/<entity>/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def record_edit(entity: str, record_id: int) -> Any:
    """Show the edit form and save it with optimistic locking."""
    model = _entity(entity)
    if request.method == "POST":
        with messages_in(current_locale()):
            return save_from_form(model, record_id)
    site = services().metadata.model()
    record = services().runtime().get(entity, record_id, current_user.actor())
    form = build_form(
        site,
        model,
        record,
        {},
        current_locale(),
        record.get("_titles") or {},
        reader_access(),
        services().presentations,
        states_for(model, record, record),
    )
    return render_template("pages/form.html", model=model, form=form, record=record)


@bp.route("/e/<entity>/form-state", methods=["POST"])
@login_required
def new_form_state(entity: str) -> Any:
    """Answer which fields of a new record's form are visible, required and read-only now."""
    return answer_form_state(entity, None)


@bp.route("/e/<entity>/<int:record_id>/form-state", methods=["POST"])
@login_required
def edit_form_state(entity: str, record_id: int) -> Any:
    """Answer the same for a stored record's edit form (read-only is judged on it as saved)."""
    return answer_form_state(entity, record_id)


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
    ids = [r["id"] for r in page.items]
    titles = svc.runtime().titles(entity, ids, actor=current_user.actor()) if ids else {}
    return jsonify([{"id": r["id"], "title": titles.get(r["id"], f"#{r['id']}")} for r in page.items])


@bp.route("/files/<int:attachment_id>")
@login_required
def attachment_file(attachment_id: int) -> Any:
    """Download an attachment the user may read."""
    try:
        return send_attachment(attachment_id, current_user.actor())
    except NotFound:
        abort(404)
