"""The calendar of an entity: ``/e/<entity>/calendar`` by a date or datetime field, a month or a week,
and moving a record to another day (an update through the record runtime)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, render_template, request
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.board import list_filters, page_model
from crm_platform.pages.boardmoves import refusal_text
from crm_platform.pages.boardsetup import date_fields
from crm_platform.pages.calendardata import MODES, Day, load_days, moved_value, parse_day, period_of
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.views import bp
from crm_platform.problemwords import worded
from crm_platform.services import services
from crm_platform.timezones import user_zone
from metamodel.definitions import FieldDef
from metamodel.errors import BadQuery, CrmError, NotFound
from metamodel.model import EntityModel
from rule_engine.fieldrules import messages_in

CALENDAR_KEYS = ("date", "mode", "start", "lang")


def _field(model: EntityModel) -> tuple[FieldDef | None, tuple[FieldDef, ...]]:
    offered = date_fields(model, services().field_types, reader_access()(model))
    asked = request.args.get("date")
    chosen = next((f for f in offered if f.name == asked), offered[0] if offered else None)
    return chosen, offered


def _today() -> dt.date:
    return services().clock().astimezone(user_zone()).date()  # the reader's calendar day


@bp.route("/e/<entity>/calendar")
@login_required
def record_calendar(entity: str) -> Any:
    """Show the records on a month or week grid by one of their date fields."""
    model = page_model(entity)
    definition, offered = _field(model)
    mode = request.args.get("mode") if request.args.get("mode") in MODES else "month"
    today = _today()
    period = period_of(str(mode), parse_day(request.args.get("start"), today))
    days: list[Day] = []
    more, error = False, ""
    if definition is not None:
        try:
            filters = list_filters(model, CALENDAR_KEYS)
            days, more = load_days(
                model, definition, period, filters, current_user.actor(), today, user_zone()
            )
        except BadQuery as exc:
            error = "; ".join(f"{p.path}: {worded(p.message)}" for p in exc.problems) or exc.message
    restricted = reader_access()(model)
    return render_template(
        "pages/calendar.html",
        model=model,
        field=definition,
        offered=offered,
        period=period,
        weeks=[days[i : i + 7] for i in range(0, len(days), 7)],
        more=more,
        movable=definition is not None and definition.name not in restricted,
        error=error,
        locale=current_locale(),
        args=request.args,
    ), (400 if error else 200)


@bp.route("/e/<entity>/calendar/move", methods=["POST"])
@login_required
def calendar_move(entity: str) -> Any:
    """Move a record to another day; answers JSON (the refusal in words, or the new version)."""
    model = page_model(entity)
    definition, _ = _field(model)
    record_id = request.form.get("record_id", "")
    day = parse_day(request.form.get("day"), dt.date.min)
    version = request.form.get("lock_version", "")
    if definition is None or not record_id.isdigit() or day == dt.date.min:
        return jsonify({"ok": False, "message": t("board.bad_move")}), 400
    runtime = services().runtime()
    actor = current_user.actor()
    try:
        with messages_in(current_locale()):
            old = runtime.get(model.name, int(record_id), actor).get(definition.name)
            record = runtime.update(
                model.name,
                int(record_id),
                {definition.name: moved_value(definition, old, day, user_zone())},
                actor,
                expected_version=int(version) if version.isdigit() else None,
            )
    except NotFound:
        return jsonify({"ok": False, "message": t("board.gone")}), 404
    except CrmError as exc:
        return jsonify({"ok": False, "message": refusal_text(model, exc)}), exc.status
    return jsonify(
        {
            "ok": True,
            "moved": True,
            "message": t("calendar.moved", day=day.isoformat()),
            "lock_version": record.get("lock_version"),
        }
    )
