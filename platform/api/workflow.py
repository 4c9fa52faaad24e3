"""Workflow endpoints of a record: available transitions, taking one, approvals and the state history."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, actor, json_body, path_id
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from form_renderer.schemas import load_record
from metamodel.errors import NotFound, Problem
from metamodel.records.runtime import RecordRuntime
from rule_engine.workflow import WorkflowService, workflow_for

MAX_COMMENT = 2000


def workflow_service() -> WorkflowService:
    """Return the workflow service of the app's rule engine; 404 when workflows are not installed."""
    try:
        component = services().rules.component("workflow")
    except KeyError:
        raise NotFound("workflows are not installed") from None
    service = getattr(component, "service", None)
    if not isinstance(service, WorkflowService):
        raise NotFound("workflows are not installed")
    return service


def _target(entity: str, raw_id: str) -> tuple[RecordRuntime, int]:
    runtime = services().runtime()
    entity_model(runtime, entity)
    if workflow_for(runtime.model, entity) is None:
        raise NotFound(f"entity '{entity}' has no workflow")
    return runtime, path_id(raw_id)


def _comment(body: dict[str, Any]) -> str:
    comment = body.get("comment", "")
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise BadRequest(
            f"'comment' must be text of at most {MAX_COMMENT} characters",
            [Problem("comment", "must be text", "type")],
        )
    return comment


@bp.get("/records/<entity>/<record_id>/transitions")
def workflow_transitions(entity: str, record_id: str) -> Any:
    """Return the record's state, the transitions the user may take now and pending approvals."""
    runtime, number = _target(entity, record_id)
    service = workflow_service()
    record = runtime.get(entity, number, actor())
    spec = workflow_for(runtime.model, entity)
    assert spec is not None
    return jsonify(
        {
            "workflow": spec.name,
            "state_field": spec.state_field,
            "state": record.get(spec.state_field),
            "transitions": service.available_transitions(runtime, entity, record, actor()),
            "pending_approvals": service.pending_approvals(runtime, entity, number),
        }
    )


@bp.post("/records/<entity>/<record_id>/transitions/<name>")
def workflow_take(entity: str, record_id: str, name: str) -> Any:
    """Take a transition (body: comment, values); 202 when it waits for an approval."""
    runtime, number = _target(entity, record_id)
    body = json_body(optional=True)
    comment = _comment(body)
    values = body.get("values")
    if values is not None:
        if not isinstance(values, dict):
            raise BadRequest("'values' must be an object", [Problem("values", "expected an object", "type")])
        values = load_record(runtime.model, entity, values, partial=True)
    result = workflow_service().transition(
        runtime, entity, number, name[:80], actor=actor(), comment=comment, values=values
    )
    response = jsonify(result.as_dict())
    response.status_code = 202 if result.status == "pending" else 200
    return response


@bp.get("/records/<entity>/<record_id>/history")
def workflow_history(entity: str, record_id: str) -> Any:
    """Return the record's state changes, oldest first."""
    runtime, number = _target(entity, record_id)
    runtime.get(entity, number, actor())  # 404 unless the user may see the record
    return jsonify({"items": workflow_service().history(runtime, entity, number)})


@bp.get("/records/<entity>/<record_id>/approvals")
def workflow_approvals(entity: str, record_id: str) -> Any:
    """Return the record's transitions waiting for approval."""
    runtime, number = _target(entity, record_id)
    runtime.get(entity, number, actor())
    return jsonify({"items": workflow_service().pending_approvals(runtime, entity, number)})


@bp.post("/records/<entity>/<record_id>/approvals/<approval_id>/approve")
def workflow_approve(entity: str, record_id: str, approval_id: str) -> Any:
    """Approve a pending transition (holders of its approval role); the record moves now."""
    runtime, number = _target(entity, record_id)
    comment = _comment(json_body(optional=True))
    result = workflow_service().approve(
        runtime, entity, number, path_id(approval_id), actor=actor(), comment=comment
    )
    return jsonify(result.as_dict())


@bp.post("/records/<entity>/<record_id>/approvals/<approval_id>/reject")
def workflow_reject(entity: str, record_id: str, approval_id: str) -> Any:
    """Reject a pending transition (holders of its approval role); the record stays."""
    runtime, number = _target(entity, record_id)
    comment = _comment(json_body(optional=True))
    return jsonify(
        workflow_service().reject(
            runtime, entity, number, path_id(approval_id), actor=actor(), comment=comment
        )
    )


_JSON = "application/json"
_OBJECT = {"type": "object", "additionalProperties": True}
_LIST = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": _OBJECT}},
}
_RESULT = {
    "type": "object",
    "required": ["status", "record"],
    "properties": {
        "status": {"type": "string", "enum": ["done", "pending"]},
        "history_id": {"type": "integer", "nullable": True},
        "approval_id": {"type": "integer", "nullable": True},
        "record": _OBJECT,
    },
}
_COMMENT_TEXT = {"type": "string", "maxLength": MAX_COMMENT}
_COMMENT: dict[str, Any] = {"type": "object", "properties": {"comment": _COMMENT_TEXT}}

# The OpenAPI descriptions of these routes (openapi.py lists every route; this gives them their shapes).
ENDPOINTS.update(
    {
        "workflow_transitions": {
            "summary": "The record's state and the workflow transitions the user may take now",
            "responses": {"200": ("OK", _OBJECT, _JSON)},
        },
        "workflow_take": {
            "summary": "Take a workflow transition (202 when it waits for an approval)",
            "errors": ("403", "409", "422"),
            "request": {"type": "object", "properties": {"comment": _COMMENT_TEXT, "values": _OBJECT}},
            "request_required": False,
            "responses": {
                "200": ("moved", _RESULT, _JSON),
                "202": ("waiting for approval", _RESULT, _JSON),
            },
        },
        "workflow_history": {
            "summary": "The record's state history, oldest first",
            "responses": {"200": ("OK", _LIST, _JSON)},
        },
        "workflow_approvals": {
            "summary": "The record's transitions waiting for approval",
            "responses": {"200": ("OK", _LIST, _JSON)},
        },
        "workflow_approve": {
            "summary": "Approve a pending transition; the record moves",
            "errors": ("403", "409", "422"),
            "request": _COMMENT,
            "request_required": False,
            "responses": {"200": ("moved", _RESULT, _JSON)},
        },
        "workflow_reject": {
            "summary": "Reject a pending transition; the record stays",
            "errors": ("403", "409"),
            "request": _COMMENT,
            "request_required": False,
            "responses": {"200": ("rejected", _OBJECT, _JSON)},
        },
    }
)
