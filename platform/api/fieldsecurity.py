"""Field-level security over the API: a role's field rules (administrators only), and revealing values."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from crm_platform.api import bp
from crm_platform.api.access import _admin, _admins_only
from crm_platform.api.common import actor, json_body, path_id
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.auditing import current_origin
from crm_platform.services import services
from metamodel.access.masks import MaskStyles
from metamodel.access.reveal import reveal
from metamodel.errors import Problem, RecordInvalid
from metamodel.identifiers import NAME_PATTERN

_JSON = "application/json"
_RULE = {
    "type": "object",
    "required": ["entity", "field", "access"],
    "properties": {
        "entity": {"type": "string", "pattern": NAME_PATTERN},
        "field": {"type": "string", "pattern": NAME_PATTERN},
        "access": {"type": "string", "enum": ["hidden", "readonly", "masked"]},
        "mask": {
            "type": "string",
            "nullable": True,
            "enum": [*MaskStyles.default().names(), None],
            "description": "a mask style (plugins may add more)",
        },
        "reveal": {"type": "boolean", "description": "the role may fetch the clear value (audited)"},
    },
}
_RULES = {
    "type": "object",
    "properties": {"role": {"type": "string"}, "fields": {"type": "array", "items": _RULE}},
}


@bp.get("/access/roles/<role>/fields")
@_admins_only
def access_field_rules(role: str) -> Any:
    """Return a role's field rules."""
    return jsonify({"role": role, "fields": _admin().field_rules(role)})


@bp.put("/access/roles/<role>/fields")
@_admins_only
def access_set_field_rules(role: str) -> Any:
    """Replace a role's field rules: [{entity, field, access: hidden|readonly|masked, mask?, reveal?}]."""
    rules = json_body().get("fields")
    if not isinstance(rules, list):
        raise RecordInvalid("'fields' must be a list", [Problem("fields", "must be a list", "type")])
    model = services().metadata.model()
    return jsonify({"role": role, "fields": _admin().set_field_rules(role, rules, model)})


@bp.post("/records/<entity>/<record_id>/reveal")
def records_reveal(entity: str, record_id: str) -> Any:
    """Return the clear values of masked or hidden fields the user may reveal; each call is audited."""
    runtime = services().runtime()
    entity_model(runtime, entity)
    fields: Any = json_body().get("fields")
    values = reveal(runtime, entity, path_id(record_id), fields, actor(), current_origin())
    return jsonify({"id": path_id(record_id), "values": values})


ENDPOINTS.update(
    {
        "access_field_rules": {
            "summary": "A role's field rules (hidden, read-only, masked)",
            "errors": ("403", "404"),
            "responses": {"200": ("OK", _RULES, _JSON)},
        },
        "access_set_field_rules": {
            "summary": "Replace a role's field rules; unknown entities and fields are refused",
            "errors": ("403", "404", "422"),
            "request": {
                "type": "object",
                "required": ["fields"],
                "properties": {"fields": {"type": "array", "items": _RULE}},
            },
            "responses": {"200": ("OK", _RULES, _JSON)},
        },
        "records_reveal": {
            "summary": "Reveal the clear values of masked or hidden fields (needs a reveal rule; audited)",
            "errors": ("403", "404", "422"),
            "request": {
                "type": "object",
                "required": ["fields"],
                "properties": {"fields": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            },
            "responses": {
                "200": (
                    "the clear values",
                    {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "values": {"type": "object"}},
                    },
                    _JSON,
                )
            },
        },
    }
)
