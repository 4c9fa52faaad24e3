"""Generated end-user pages: entity list, record list, detail, create, edit and delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from crm_platform.auditing import current_origin
from crm_platform.i18n import current_locale, t
from crm_platform.pages.dashboards import assigned_home
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.formstate import answer_form_state, states_for
from crm_platform.pages.nav import navigation
from crm_platform.pages.submit import save_from_form
from crm_platform.services import services
from form_renderer.layout import build_form
from metamodel.access import AccessDenied, require
from metamodel.access.reveal import reveal
from metamodel.errors import CrmError, NotFound
from metamodel.model import EntityModel
from metamodel.records.query import ListQuery, parse_list_args
from metamodel.systables import users
from rule_engine.fieldrules import messages_in
from rule_engine.workflow import WorkflowService, workflow_for

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


@bp.route("/e/<entity>/<int:record_id>")
@login_required
def record_detail(entity: str, record_id: int) -> Any:
    """Show one record read-only, laid out like its form."""
    return _detail(_entity(entity), record_id, {})


def _detail(model: EntityModel, record_id: int, revealed: dict[str, Any]) -> Any:
    site = services().metadata.model()
    runtime = services().runtime()
    record = runtime.get(model.name, record_id, current_user.actor())
    values = {**record, **revealed}
    form = build_form(
        site,
        model,
        values,
        {},
        current_locale(),
        record.get("_titles") or {},
        reader_access(),
        services().presentations,
        states_for(model, record, record),
    )
    for tab in form.tabs:
        for section in tab.sections:
            for view in section.fields:
                view.revealed = view.name in revealed
    workflow = _workflow_panel(runtime, model.name, record)
    title = runtime.titles(model.name, [record_id], actor=current_user.actor()).get(record_id)
    return render_template(
        "pages/detail.html",
        model=model,
        record=record,
        record_title=title,
        form=form,
        workflow=workflow,
        locale=current_locale(),
    )


@bp.route("/e/<entity>/<int:record_id>/reveal", methods=["POST"])
@login_required
def record_reveal(entity: str, record_id: int) -> Any:
    """Show the detail page with one masked field revealed (allowed per role and field; audited)."""
    model = _entity(entity)
    name = request.form.get("field", "")[:80]
    try:
        values = reveal(
            services().runtime(), entity, record_id, [name], current_user.actor(), current_origin()
        )
    except NotFound:
        raise
    except CrmError as exc:
        flash(exc.message, "error")
        return redirect(url_for("pages.record_detail", entity=entity, record_id=record_id))
    return _detail(model, record_id, values)


# Workflow strings of the detail page, in both UI languages.
_WORKFLOW_TEXT = {
    "en": {
        "title": "Workflow",
        "state": "State",
        "history": "State history",
        "at": "When",
        "from": "From",
        "to": "To",
        "transition": "Transition",
        "by": "By",
        "comment": "Comment",
        "comment_placeholder": "Comment (optional)",
        "needs_approval": "needs approval",
        "pending": "waiting for approval",
        "moved": "Moved to {state}.",
        "requested": "Sent for approval.",
        "none": "No transitions are available to you now.",
        "system": "system",
    },
    "zh-CN": {
        "title": "流程",
        "state": "状态",
        "history": "状态历史",
        "at": "时间",
        "from": "原状态",
        "to": "新状态",
        "transition": "操作",
        "by": "操作人",
        "comment": "备注",
        "comment_placeholder": "备注（可选）",
        "needs_approval": "需要审批",
        "pending": "等待审批",
        "moved": "已转为 {state}。",
        "requested": "已提交审批。",
        "none": "当前没有可执行的流程操作。",
        "system": "系统",
    },
}


def _workflow_text() -> dict[str, str]:
    return _WORKFLOW_TEXT.get(current_locale(), _WORKFLOW_TEXT["en"])


def _workflow_service() -> WorkflowService | None:
    try:
        service = getattr(services().rules.component("workflow"), "service", None)
    except KeyError:
        return None
    return service if isinstance(service, WorkflowService) else None


def _workflow_panel(runtime: Any, entity: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """Return the detail page's workflow section: state, transition buttons and history; None without one."""
    spec = workflow_for(runtime.model, entity)
    service = _workflow_service()
    if spec is None or service is None:
        return None
    locale = current_locale()

    def label(labels: Any, fallback: str) -> str:
        labels = labels or {}
        return str(labels.get(locale) or labels.get("en") or fallback)

    transitions = service.available_transitions(runtime, entity, record, current_user.actor())
    for item in transitions:
        item["title"] = label(item["label"], item["name"])
        item["to_title"] = label(item["to_label"], item["to"])
    state = record.get(spec.state_field)
    history = service.history(runtime, entity, int(record["id"]))
    users = _user_names({h["actor_id"] for h in history if h["actor_id"] is not None})
    text = _workflow_text()
    for row in history:
        row["by"] = users.get(row["actor_id"], "") if row["actor_id"] is not None else text["system"]
        row["from_title"] = label(spec.labels.get(str(row["from_state"])), str(row["from_state"] or ""))
        row["to_title"] = label(spec.labels.get(str(row["to_state"])), str(row["to_state"] or ""))
    return {
        "state": label(spec.labels.get(str(state)), str(state or "")),
        "transitions": transitions,
        "history": list(reversed(history)),
        "text": text,
    }


def _user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    with services().engine.connect() as conn:
        rows = conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(sorted(ids))))
        return {int(r.id): str(r.username) for r in rows}


@bp.route("/e/<entity>/<int:record_id>/transition/<name>", methods=["POST"])
@login_required
def record_transition(entity: str, record_id: int, name: str) -> Any:
    """Take a workflow transition from the detail page; a refusal is shown as a message."""
    _entity(entity)
    service = _workflow_service()
    if service is None:
        abort(404, description="workflows are not installed")
    text = _workflow_text()
    comment = request.form.get("comment", "")[:2000]
    try:
        result = service.transition(
            services().runtime(), entity, record_id, name[:80], actor=current_user.actor(), comment=comment
        )
    except NotFound:
        raise
    except CrmError as exc:
        details = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
        flash(exc.message + (f" ({details})" if details else ""), "error")
    else:
        spec = workflow_for(services().metadata.model(), entity)
        state = result.get(spec.state_field) if spec else ""
        flash(text["requested"] if result.status == "pending" else text["moved"].format(state=state))
    return redirect(url_for("pages.record_detail", entity=entity, record_id=record_id))


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
    form = build_form(
        site,
        model,
        defaults,
        {},
        current_locale(),
        None,
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
