"""The kanban board of an entity: ``/e/<entity>/board``, its lazily loaded columns and card moves."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, request
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.boarddata import NONE_VALUE, Column, column_values, load_cards, totals
from crm_platform.pages.boardmoves import drop_targets, move_card, refusal_text
from crm_platform.pages.boardsetup import BoardSetup, board_setup
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.views import bp
from crm_platform.problemwords import worded
from crm_platform.services import services
from crm_platform.timezones import local_list_args
from metamodel.access import require
from metamodel.errors import BadQuery, CrmError, NotFound
from metamodel.model import EntityModel
from metamodel.records.query import Filter, parse_list_args
from rule_engine.fieldrules import messages_in
from rule_engine.workflow import workflow_for

# Query-string keys of the board itself; the others are the list's filters, kept across the views.
BOARD_KEYS = ("group", "sum", "value", "cursor", "lang")


def page_model(entity: str) -> EntityModel:
    """Return the entity of a board or calendar page; 404 for unknown and child-table entities, 403 when
    the reader may not read its records."""
    model = services().metadata.model().entities.get(entity)
    if model is None or model.entity.is_child:
        abort(404, description=f"entity '{entity}' does not exist")
    with services().engine.connect() as conn:
        require(conn, current_user.actor(), entity, "read")  # even a page with nothing to show says so
    return model


def list_filters(model: EntityModel, skip: tuple[str, ...]) -> list[Filter]:
    """Return the list filters in the query string (the same ones the list page reads)."""
    args = {
        k: request.args.getlist(k) for k in request.args if k not in skip and request.args.getlist(k) != [""]
    }
    args.pop("q", None)  # counts come from a GROUP BY, which has no free-text search
    return parse_list_args(model, services().field_types, local_list_args(model, args)).filters


def _setup(model: EntityModel) -> BoardSetup | None:
    workflow = workflow_for(services().metadata.model(), model.name)
    asked = {k: request.args[k] for k in ("group", "sum") if k in request.args}
    return board_setup(model, services().field_types, reader_access()(model), workflow, asked)


@bp.route("/e/<entity>/board")
@login_required
def record_board(entity: str) -> Any:
    """Show the records as cards in a column per workflow state (or option of a select field)."""
    model = page_model(entity)
    setup = _setup(model)
    actor = current_user.actor()
    restricted = reader_access()(model)
    columns: list[Column] = []
    error = ""
    if setup is not None:
        try:
            filters = list_filters(model, BOARD_KEYS)
            found = totals(model, setup, filters, actor)
        except BadQuery as exc:
            error = "; ".join(f"{p.path}: {worded(p.message)}" for p in exc.problems) or exc.message
            filters, found = [], {}
        values = column_values(model, setup)
        if found.get(NONE_VALUE):
            values.append((NONE_VALUE, t("board.no_value")))
        for value, label in values:
            count, total = found.get(value, (0, None))
            column = Column(value, label, count, total)
            if count and not error:
                column.cards, column.next_cursor = load_cards(model, setup, value, filters, actor, restricted)
            columns.append(column)
    targets = drop_targets(setup.workflow, actor) if setup and setup.workflow else None
    level = restricted.get(setup.group.name) if setup else None
    return render_template(
        "pages/board.html",
        model=model,
        setup=setup,
        columns=columns,
        targets=targets,
        movable=setup is not None and (setup.workflow is not None or level is None),
        error=error,
        locale=current_locale(),
        args=request.args,
    ), (400 if error else 200)


@bp.route("/e/<entity>/board/cards")
@login_required
def board_cards(entity: str) -> Any:
    """Return the next cards of one column (the column's "more" button fetches them)."""
    model = page_model(entity)
    setup = _setup(model)
    if setup is None:
        abort(404)
    try:
        filters = list_filters(model, BOARD_KEYS)
        cards, cursor = load_cards(
            model,
            setup,
            request.args.get("value", "")[:100],
            filters,
            current_user.actor(),
            reader_access()(model),
            request.args.get("cursor") or None,
        )
    except BadQuery as exc:
        abort(400, description=exc.message)
    return render_template(
        "pages/board_cards.html", model=model, cards=cards, cursor=cursor, args=request.args
    )


@bp.route("/e/<entity>/board/move", methods=["POST"])
@login_required
def board_move(entity: str) -> Any:
    """Move a card to another column; answers JSON with the engine's refusal in words, or the new totals."""
    model = page_model(entity)
    setup = _setup(model)
    if setup is None:
        abort(404)
    record_id = request.form.get("record_id", "")
    version = request.form.get("lock_version", "")
    target = request.form.get("to", "")[:100]
    if not record_id.isdigit():
        return jsonify({"ok": False, "message": t("board.bad_move")}), 400
    actor = current_user.actor()
    try:
        with messages_in(current_locale()):
            record, moved = move_card(
                model, setup, int(record_id), target, int(version) if version.isdigit() else None, actor
            )
    except NotFound:
        return jsonify({"ok": False, "message": t("board.gone")}), 404
    except CrmError as exc:
        return jsonify({"ok": False, "message": refusal_text(model, exc)}), exc.status
    found = totals(model, setup, list_filters(model, BOARD_KEYS), actor)
    return jsonify(
        {
            "ok": True,
            "moved": moved,
            "message": t("board.moved") if moved else t("board.requested"),
            "lock_version": record.get("lock_version"),
            "columns": {v: {"count": c, "total": str(s or "")} for v, (c, s) in found.items()},
        }
    )
