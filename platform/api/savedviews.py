"""Saved list views over the API: list the caller's (and those shared to her roles), save one, delete one."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from crm_platform.api import bp
from crm_platform.api.common import actor, created, json_body, path_id
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS, _ok
from crm_platform.listing.savedviews import delete_view, save_view, views_for
from crm_platform.services import services
from metamodel.errors import BadQuery, NotFound, Problem


def _who() -> tuple[int, bool]:
    who = actor()
    return int(who.user_id or 0), bool(who.is_admin)


@bp.get("/views/<entity>")
def saved_views_list(entity: str) -> Any:
    """List the saved views of an entity's list the caller sees (her own, then those shared to her roles)."""
    entity_model(services().runtime(), entity)
    user_id, _admin = _who()
    return jsonify({"items": [v.as_dict() for v in views_for(services().engine, user_id, entity)]})


@bp.post("/views/<entity>")
def saved_views_save(entity: str) -> Any:
    """Save (or replace, by name) a view: {name, query: {key: [values]}, columns: [...], shared_roles: [...]}."""
    entity_model(services().runtime(), entity)
    body = json_body()
    query, columns, roles = body.get("query") or {}, body.get("columns") or [], body.get("shared_roles") or []
    if not isinstance(query, dict) or not all(isinstance(v, list) for v in query.values()):
        raise BadQuery("'query' is not valid", [Problem("query", "expected an object of lists", "type")])
    if not isinstance(columns, list) or not isinstance(roles, list):
        raise BadQuery("'columns' is not valid", [Problem("columns", "expected lists", "type")])
    user_id, admin = _who()
    view = save_view(
        services().engine,
        user_id,
        admin,
        entity,
        str(body.get("name") or ""),
        {str(k): [str(x) for x in v] for k, v in query.items()},
        [str(c) for c in columns],
        [str(r) for r in roles],
    )
    return created(view.as_dict(), f"/api/v1/views/{entity}/{view.id}")


@bp.delete("/views/<entity>/<view_id>")
def saved_views_delete(entity: str, view_id: str) -> Any:
    """Delete a saved view (her own; a shared one when she is an administrator)."""
    entity_model(services().runtime(), entity)
    user_id, admin = _who()
    if not delete_view(services().engine, user_id, admin, entity, path_id(view_id)):
        raise NotFound("no such view")
    return Response(status=204)


_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
_NAMES: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_VIEW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "entity": {"type": "string"},
        "owner_id": {"type": "integer"},
        "name": {"type": "string"},
        "query": _QUERY,
        "columns": _NAMES,
        "shared_roles": _NAMES,
    },
}

ENDPOINTS.update(
    {
        "saved_views_list": {
            "summary": "List the saved views of an entity's list (own and shared to the caller's roles)",
            "errors": ("404",),
            "responses": _ok({"type": "object", "properties": {"items": {"type": "array", "items": _VIEW}}}),
        },
        "saved_views_save": {
            "summary": "Save a view of an entity's list; only an administrator may share it to roles",
            "errors": ("400", "404"),
            "request": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "maxLength": 80},
                    "query": _QUERY,
                    "columns": _NAMES,
                    "shared_roles": _NAMES,
                },
            },
            "responses": _ok(_VIEW, "201", "saved"),
        },
        "saved_views_delete": {
            "summary": "Delete a saved view",
            "errors": ("404",),
            "responses": _ok(None, "204", "deleted"),
        },
    }
)
