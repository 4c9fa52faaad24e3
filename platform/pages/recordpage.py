"""The record page ``/e/<entity>/<id>``: header with state and allowed actions, the form in read mode,
the activity timeline with the follow-up composer, and related lists."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from crm_platform.auditing import current_origin
from crm_platform.i18n import current_locale
from crm_platform.pages.fieldaccess import reader_access
from crm_platform.pages.formstate import states_for
from crm_platform.pages.helpers import display_context
from crm_platform.pages.recordaccess import may, page_entity
from crm_platform.pages.related import related_lists
from crm_platform.pages.timeline import timeline
from crm_platform.pages.views import bp
from crm_platform.pages.workflowpanel import workflow_panel
from crm_platform.services import services
from form_renderer.layout import build_form
from form_renderer.presentation import Shown
from metamodel.access.reveal import reveal
from metamodel.errors import CrmError, NotFound
from metamodel.followups import FOLLOWUP_KINDS
from metamodel.model import EntityModel


@bp.route("/e/<entity>/<int:record_id>")
@login_required
def record_detail(entity: str, record_id: int) -> Any:
    """Show one record read-only, laid out like its form, with its timeline and related lists."""
    return _detail(page_entity(entity), record_id, {})


@bp.route("/e/<entity>/<int:record_id>/reveal", methods=["POST"])
@login_required
def record_reveal(entity: str, record_id: int) -> Any:
    """Show the record page with one masked field revealed (allowed per role and field; audited)."""
    model = page_entity(entity)
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
    workflow = workflow_panel(runtime, model, record)
    state_field = workflow["state_field"] if workflow else None
    for tab in form.tabs:
        for section in tab.sections:
            for view in section.fields:
                view.revealed = view.name in revealed
    title = runtime.titles(model.name, [record_id], actor=current_user.actor()).get(record_id)
    return render_template(
        "pages/detail.html",
        model=model,
        record=record,
        record_title=title,
        form=form,
        workflow=workflow,
        state_badge=_state_badge(model, record, state_field),
        may_edit=may(model.name, "update", record_id),
        may_delete=may(model.name, "delete", record_id),
        entries=timeline(model, record, state_field),
        related=related_lists(model, record_id),
        followup_kinds=FOLLOWUP_KINDS,
        locale=current_locale(),
    )


def _state_badge(model: EntityModel, record: dict[str, Any], state_field: str | None) -> Markup | None:
    # The state is a badge in its option's colour, never an input.
    if state_field is None or record.get(state_field) in (None, ""):
        return None
    shown = Shown(model.fields[state_field], record[state_field])
    return services().presentations.present(shown, display_context())
