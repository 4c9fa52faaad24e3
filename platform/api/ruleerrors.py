"""The rule-error log over the API (configure permission): failures per rule and record, and switching a
rule that failed too often back on. The studio's "Rule errors" page calls the same functions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from crm_platform.api import bp
from crm_platform.api.common import configure_required, int_value
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from rule_engine.ops.ruleerrors import list_rule_errors, switch_on


def rule_errors_page() -> dict[str, Any]:
    """Return the page of rule errors the request's filters ask for (rule, limit, offset)."""
    args = request.args
    return list_rule_errors(
        services().engine,
        rule=(args.get("rule") or "")[:100] or None,
        limit=int_value(args.get("limit") or 50, "limit", high=200),
        offset=int_value(args.get("offset") or 0, "offset", low=0),
    )


@bp.get("/rule-errors")
@configure_required
def rule_errors_list() -> Any:
    """The rule-error log, latest first (?rule=NAME), with the rules switched off after repeated failures."""
    return jsonify(rule_errors_page())


@bp.post("/rule-errors/<rule>/enable")
@configure_required
def rule_errors_enable(rule: str) -> Any:
    """Switch a rule that failed too often back on."""
    return jsonify(switch_on(services().engine, rule[:100]))


_TIME = {"type": "string", "format": "date-time", "nullable": True}
_ERROR = {
    "type": "object",
    "properties": {
        "rule": {"type": "string"},
        "entity": {"type": "string"},
        "record_id": {"type": "integer", "nullable": True},
        "action": {"type": "string"},
        "message": {"type": "string"},
        "count": {"type": "integer"},
        "first_at": _TIME,
        "last_at": _TIME,
    },
}
_OFF = {
    "type": "object",
    "properties": {
        "rule": {"type": "string"},
        "disabled_at": _TIME,
        "reason": {"type": "string"},
        "failures": {"type": "integer"},
    },
}
ENDPOINTS.update(
    {
        "rule_errors_list": {
            "summary": "The rule-error log (latest first) and the rules switched off after repeated failures",
            "errors": ("403", "400"),
            "query": [
                {"name": "rule", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                },
            ],
            "responses": {
                "200": (
                    "OK",
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ERROR},
                            "total": {"type": "integer"},
                            "switched_off": {"type": "array", "items": _OFF},
                        },
                    },
                    "application/json",
                )
            },
        },
        "rule_errors_enable": {
            "summary": "Switch a rule that failed too often back on",
            "errors": ("403", "404"),
            "responses": {
                "200": (
                    "OK",
                    {
                        "type": "object",
                        "properties": {"rule": {"type": "string"}, "enabled": {"type": "boolean"}},
                    },
                    "application/json",
                )
            },
        },
    }
)
