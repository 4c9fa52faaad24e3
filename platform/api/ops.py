"""Operations over the API (administrators only): the webhook and e-mail delivery log with retry now, and
the scheduler's state per time rule. The studio's operations pages call the same functions."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from crm_platform.api import bp
from crm_platform.api.access import _admins_only
from crm_platform.api.common import int_value, path_id
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from rule_engine.ops.deliveries import delivery, list_deliveries, retry_now
from rule_engine.ops.scheduler import scheduler_status


def deliveries_page() -> dict[str, Any]:
    """Return the page of deliveries the request's filters ask for (status, kind, limit, offset)."""
    args = request.args
    return list_deliveries(
        services().engine,
        status=args.get("status") or None,
        kind=args.get("kind") or None,
        limit=int_value(args.get("limit") or 50, "limit", high=200),
        offset=int_value(args.get("offset") or 0, "offset", low=0),
    )


def scheduler_rows() -> list[dict[str, Any]]:
    """Return the scheduler's state per time rule of the published model (none before a publish)."""
    svc = services()
    if svc.metadata.active_version() is None:
        return []
    return scheduler_status(svc.engine, svc.metadata.model(), svc.rules.clock())


def retry_delivery(message_id: int) -> dict[str, Any]:
    """Queue one delivery for the scheduler's next run."""
    svc = services()
    return retry_now(svc.engine, message_id, svc.rules.clock())


@bp.get("/deliveries")
@_admins_only
def deliveries_list() -> Any:
    """The delivery log, newest first (?status=pending|delivered|failed, ?kind=webhook|email)."""
    return jsonify(deliveries_page())


@bp.get("/deliveries/<message_id>")
@_admins_only
def deliveries_get(message_id: str) -> Any:
    """One delivery with each attempt: when, outcome, HTTP status, error, duration."""
    return jsonify(delivery(services().engine, path_id(message_id)))


@bp.post("/deliveries/<message_id>/retry")
@_admins_only
def deliveries_retry(message_id: str) -> Any:
    """Retry now: the message is due at once for the scheduler's next delivery run."""
    return jsonify(retry_delivery(path_id(message_id)))


@bp.get("/scheduler")
@_admins_only
def scheduler_state() -> Any:
    """The time rules with their next due slot, last run, backlog, failures and last error."""
    return jsonify({"items": scheduler_rows()})


_JSON = "application/json"
_TIME = {"type": "string", "format": "date-time", "nullable": True}
_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "status", "attempts"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["webhook", "email"]},
        "rule": {"type": "string", "nullable": True},
        "target": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
        "attempts": {"type": "integer"},
        "last_error": {"type": "string"},
        "response_status": {"type": "integer", "nullable": True},
        "created_at": _TIME,
        "next_attempt_at": _TIME,
        "delivered_at": _TIME,
    },
    "additionalProperties": True,
}
_RULE = {
    "type": "object",
    "properties": {
        "rule": {"type": "string"},
        "entity": {"type": "string"},
        "enabled": {"type": "boolean"},
        "next_due": _TIME,
        "last_run": _TIME,
        "backlog": {"type": "integer"},
        "failures": {"type": "integer"},
        "last_error": {"type": "string"},
    },
    "additionalProperties": True,
}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": ("OK", schema, _JSON)}


ENDPOINTS.update(
    {
        "deliveries_list": {
            "summary": "The webhook and e-mail delivery log, newest first",
            "errors": ("403", "422"),
            "query": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                },
                {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["webhook", "email"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                },
            ],
            "responses": _ok(
                {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": _MESSAGE},
                        "total": {"type": "integer"},
                    },
                }
            ),
        },
        "deliveries_get": {
            "summary": "One delivery with its attempts",
            "errors": ("403", "404"),
            "responses": _ok(_MESSAGE),
        },
        "deliveries_retry": {
            "summary": "Retry a delivery now (due at the scheduler's next run)",
            "errors": ("403", "404", "409"),
            "responses": _ok(_MESSAGE),
        },
        "scheduler_state": {
            "summary": "Time rules: next due, last run, backlog, failures",
            "errors": ("403",),
            "responses": _ok({"type": "object", "properties": {"items": {"type": "array", "items": _RULE}}}),
        },
    }
)
