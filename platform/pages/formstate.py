"""The form's conditional fields, judged on the server: the page POSTs its state as the user types (htmx)
and gets back which fields are visible, required and read-only, from the rule engine's compiled rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from crm_platform.services import services
from crm_platform.timezones import form_reader
from form_renderer.formdata import parse_form
from metamodel.errors import ProblemList
from metamodel.model import EntityModel
from rule_engine.fieldrules.formstate import FieldState, form_states


def states_for(
    model: EntityModel, values: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, FieldState]:
    """Return the conditional fields' states for ``values`` (raw form input or JSON) of a record."""
    svc = services()
    with svc.engine.connect() as conn:
        return form_states(svc.rules, svc.metadata.model(), model.name, values, stored, conn)


def answer_form_state(entity: str, record_id: int | None) -> Any:
    """Return the JSON answer: ``{"fields": {name: {visible, required, readonly}}}`` for the posted form."""
    svc = services()
    site = svc.metadata.model()
    model = site.entities.get(entity)
    if model is None or model.entity.is_child:
        abort(404)
    stored = svc.runtime().get(entity, record_id, current_user.actor()) if record_id is not None else None
    values = parse_form(
        site, model, request.form, ProblemList(), form_reader()
    )  # unparsable input counts as empty
    states = states_for(model, values, stored)
    response = jsonify({"fields": {name: state.as_dict() for name, state in states.items()}})
    response.headers["Cache-Control"] = "no-store"
    return response
