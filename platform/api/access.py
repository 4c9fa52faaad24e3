"""Access-control administration (administrators only): org units, user units, roles and their
permissions, role grants with expiry, teams and record shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, jsonify, request, url_for
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import Forbidden, created, int_value, json_body, path_id
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from metamodel.access import AccessAdmin
from metamodel.access.admin import ACCESS_NAME_PATTERN
from metamodel.errors import Problem, RecordInvalid
from metamodel.identifiers import NAME_PATTERN

F = TypeVar("F", bound=Callable[..., Any])
_KEEP = "keep"


def _admins_only(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_admin", False):
            raise Forbidden("only administrators may manage access control")
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _admin() -> AccessAdmin:
    svc = services()
    return AccessAdmin(svc.engine, svc.clock)


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RecordInvalid(f"'{key}' is required", [Problem(key, "must be a non-empty string", "required")])
    return value


def _label(body: dict[str, Any]) -> dict[str, str] | None:
    label = body.get("label")
    if label is None:
        return None
    if not isinstance(label, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in label.items()
    ):
        raise RecordInvalid(
            "'label' is not valid", [Problem("label", "must map language codes to text", "type")]
        )
    return label


def _optional_id(body: dict[str, Any], key: str) -> int | None:
    return None if body.get(key) is None else int_value(body[key], key)


def _expiry(body: dict[str, Any]) -> dt.datetime | None:
    raw = body.get("expires_at")
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise RecordInvalid(
            "'expires_at' is not a date and time",
            [Problem("expires_at", "must be an ISO 8601 date and time, e.g. 2026-12-31T18:00:00Z", "type")],
        ) from None
    # A time without an offset is taken as UTC, like every stored time.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# --- enforcement ------------------------------------------------------------------------------------
@bp.get("/access/enforcement")
@_admins_only
def access_enforcement() -> Any:
    """Whether permissions are enforced for non-admin users."""
    return jsonify({"enforced": _admin().enforced()})


@bp.put("/access/enforcement")
@_admins_only
def access_set_enforcement() -> Any:
    """Switch enforcement on or off (setting any permission switches it on)."""
    on = json_body().get("enforced")
    if not isinstance(on, bool):
        raise RecordInvalid(
            "'enforced' must be true or false", [Problem("enforced", "must be a boolean", "type")]
        )
    _admin().set_enforced(on)
    return jsonify({"enforced": on})


# --- org units --------------------------------------------------------------------------------------
@bp.get("/access/org-units")
@_admins_only
def access_units() -> Any:
    """List the org units."""
    return jsonify({"items": _admin().units()})


@bp.post("/access/org-units")
@_admins_only
def access_create_unit() -> Any:
    """Create an org unit, optionally below a parent."""
    body = json_body()
    unit = _admin().create_unit(str(_string(body, "name")), _optional_id(body, "parent_id"), _label(body))
    return created(unit, url_for("api.access_unit", unit_id=str(unit["id"])))


@bp.get("/access/org-units/<unit_id>")
@_admins_only
def access_unit(unit_id: str) -> Any:
    """Return an org unit with its members."""
    return jsonify(_admin().unit(path_id(unit_id)))


@bp.patch("/access/org-units/<unit_id>")
@_admins_only
def access_update_unit(unit_id: str) -> Any:
    """Rename, relabel or move an org unit (with everything below it)."""
    body = json_body()
    parent: int | str | None = _optional_id(body, "parent_id") if "parent_id" in body else _KEEP
    unit = _admin().update_unit(
        path_id(unit_id), name=_string(body, "name", required=False), label=_label(body), parent_id=parent
    )
    return jsonify(unit)


@bp.delete("/access/org-units/<unit_id>")
@_admins_only
def access_delete_unit(unit_id: str) -> Any:
    """Delete an org unit without sub-units or members."""
    _admin().delete_unit(path_id(unit_id))
    return Response(status=204)


# --- users ------------------------------------------------------------------------------------------
@bp.get("/access/users/<user_id>")
@_admins_only
def access_user(user_id: str) -> Any:
    """Return a user's org unit, roles and teams."""
    return jsonify(_admin().user_access(path_id(user_id)))


@bp.put("/access/users/<user_id>/org-unit")
@_admins_only
def access_set_user_unit(user_id: str) -> Any:
    """Put a user in an org unit (unit_id null: in none)."""
    body = json_body()
    if "unit_id" not in body:
        raise RecordInvalid(
            "'unit_id' is required", [Problem("unit_id", "give a unit id or null", "required")]
        )
    admin = _admin()
    number = path_id(user_id)
    admin.set_user_unit(number, _optional_id(body, "unit_id"))
    return jsonify(admin.user_access(number))


@bp.post("/access/users/<user_id>/roles")
@_admins_only
def access_assign_role(user_id: str) -> Any:
    """Give a user a role, optionally until expires_at."""
    body = json_body()
    admin = _admin()
    number = path_id(user_id)
    admin.assign_role(number, str(_string(body, "role")), _expiry(body))
    return jsonify(admin.user_access(number))


@bp.delete("/access/users/<user_id>/roles/<role>")
@_admins_only
def access_unassign_role(user_id: str, role: str) -> Any:
    """Take a role from a user."""
    _admin().unassign_role(path_id(user_id), role)
    return Response(status=204)


# --- roles and permissions ------------------------------------------------------------------------
@bp.get("/access/roles")
@_admins_only
def access_roles() -> Any:
    """List roles with their permissions."""
    return jsonify({"items": _admin().roles()})


@bp.post("/access/roles")
@_admins_only
def access_create_role() -> Any:
    """Create a role."""
    body = json_body()
    role = _admin().create_role(str(_string(body, "name")), _label(body))
    return created({**role, "permissions": []}, url_for("api.access_permissions", role=role["name"]))


@bp.get("/access/roles/<role>/permissions")
@_admins_only
def access_permissions(role: str) -> Any:
    """Return a role's permissions."""
    return jsonify({"role": role, "permissions": _admin().permissions(role)})


@bp.put("/access/roles/<role>/permissions")
@_admins_only
def access_set_permissions(role: str) -> Any:
    """Replace a role's permissions: [{entity ('*' = any), operation, scope}]."""
    permissions = json_body().get("permissions")
    if not isinstance(permissions, list):
        raise RecordInvalid(
            "'permissions' must be a list", [Problem("permissions", "must be a list", "type")]
        )
    return jsonify({"role": role, "permissions": _admin().set_permissions(role, permissions)})


# --- teams ------------------------------------------------------------------------------------------
@bp.post("/access/teams")
@_admins_only
def access_create_team() -> Any:
    """Create a team."""
    body = json_body()
    team = _admin().create_team(str(_string(body, "name")), _label(body))
    return created(team, url_for("api.access_create_team"))


@bp.put("/access/teams/<team>/members/<user_id>")
@_admins_only
def access_add_member(team: str, user_id: str) -> Any:
    """Add a user to a team."""
    _admin().add_member(team, path_id(user_id))
    return Response(status=204)


@bp.delete("/access/teams/<team>/members/<user_id>")
@_admins_only
def access_remove_member(team: str, user_id: str) -> Any:
    """Take a user out of a team."""
    _admin().remove_member(team, path_id(user_id))
    return Response(status=204)


# --- shares -----------------------------------------------------------------------------------------
@bp.get("/access/shares")
@_admins_only
def access_shares() -> Any:
    """List the shares of one record (?entity=...&record_id=...)."""
    entity = request.args.get("entity") or ""
    record_id = int_value(request.args.get("record_id"), "record_id")
    model = services().metadata.model().entity(entity)
    return jsonify({"items": _admin().shares(model, record_id)})


@bp.post("/access/shares")
@_admins_only
def access_share() -> Any:
    """Share a record with a user or a team, for read or write, optionally until expires_at."""
    body = json_body()
    model = services().metadata.model().entity(str(_string(body, "entity")))
    share = _admin().share(
        model,
        int_value(body.get("record_id"), "record_id"),
        user_id=_optional_id(body, "user_id"),
        team=_string(body, "team", required=False),
        permission=str(body.get("permission") or "read"),
        expires_at=_expiry(body),
        created_by=current_user.id,
    )
    return created(share, url_for("api.access_shares", entity=model.name, record_id=share["record_id"]))


@bp.delete("/access/shares/<share_id>")
@_admins_only
def access_unshare(share_id: str) -> Any:
    """Remove a share."""
    _admin().unshare(path_id(share_id))
    return Response(status=204)


_JSON = "application/json"
_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_LIST: dict[str, Any] = {"type": "object", "properties": {"items": {"type": "array", "items": _OBJECT}}}
_ADMIN = ("403", "422")
_LABEL: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_NULLABLE_ID = {**_ID, "nullable": True}
_EXPIRES = {"type": "string", "format": "date-time", "nullable": True}
_UNIT = {
    "type": "object",
    "required": ["id", "name", "parent_id"],
    "properties": {"id": _ID, "name": {"type": "string"}, "label": _LABEL, "parent_id": _NULLABLE_ID},
    "additionalProperties": True,
}
_PERMISSION = {
    "type": "object",
    "required": ["entity", "operation", "scope"],
    "properties": {
        "entity": {
            "type": "string",
            "pattern": rf"^(\*|{NAME_PATTERN.strip('^$')})$",
            "description": "an entity name, or * for every entity",
        },
        "operation": {
            "type": "string",
            "enum": ["read", "create", "update", "delete", "export", "import", "transition", "configure"],
        },
        "scope": {"type": "string", "enum": ["own", "org_unit", "org_subtree", "all"]},
    },
}
_PERMISSIONS = {
    "type": "object",
    "properties": {"role": {"type": "string"}, "permissions": {"type": "array", "items": _PERMISSION}},
}
_SHARE = {
    "type": "object",
    "required": ["id", "entity", "record_id", "permission"],
    "properties": {
        "id": _ID,
        "entity": {"type": "string"},
        "record_id": _ID,
        "user_id": _NULLABLE_ID,
        "team": {"type": "string", "nullable": True},
        "permission": {"type": "string", "enum": ["read", "write"]},
        "expires_at": _EXPIRES,
    },
    "additionalProperties": True,
}
_ENFORCED = {"type": "object", "required": ["enforced"], "properties": {"enforced": {"type": "boolean"}}}
_NAMED: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": ACCESS_NAME_PATTERN}, "label": _LABEL},
}


def _ok(schema: dict[str, Any] | None, status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: (description, schema, _JSON)}


# The OpenAPI descriptions of these routes (openapi.py lists every route; this gives them their shapes).
ENDPOINTS.update(
    {
        "access_enforcement": {
            "summary": "Whether permissions are enforced",
            "errors": ("403",),
            "responses": _ok(_ENFORCED),
        },
        "access_set_enforcement": {
            "summary": "Switch enforcement on or off",
            "errors": _ADMIN,
            "request": _ENFORCED,
            "responses": _ok(_ENFORCED),
        },
        "access_units": {"summary": "List org units", "errors": ("403",), "responses": _ok(_LIST)},
        "access_create_unit": {
            "summary": "Create an org unit",
            "errors": (*_ADMIN, "409"),
            "request": {**_NAMED, "properties": {**_NAMED["properties"], "parent_id": _NULLABLE_ID}},
            "responses": _ok(_UNIT, "201", "created"),
        },
        "access_unit": {
            "summary": "Get an org unit with its members",
            "errors": ("403",),
            "responses": _ok(_UNIT),
        },
        "access_update_unit": {
            "summary": "Rename, relabel or move an org unit with its subtree",
            "errors": (*_ADMIN, "409"),
            "request": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "label": _LABEL, "parent_id": _NULLABLE_ID},
            },
            "responses": _ok(_UNIT),
        },
        "access_delete_unit": {
            "summary": "Delete an empty org unit",
            "errors": ("403", "409"),
            "responses": _ok(None, "204", "deleted"),
        },
        "access_user": {
            "summary": "A user's org unit, roles and teams",
            "errors": ("403",),
            "responses": _ok(_OBJECT),
        },
        "access_set_user_unit": {
            "summary": "Put a user in an org unit",
            "errors": _ADMIN,
            "request": {"type": "object", "required": ["unit_id"], "properties": {"unit_id": _NULLABLE_ID}},
            "responses": _ok(_OBJECT),
        },
        "access_assign_role": {
            "summary": "Give a user a role, optionally until expires_at",
            "errors": _ADMIN,
            "request": {
                "type": "object",
                "required": ["role"],
                "properties": {"role": {"type": "string"}, "expires_at": _EXPIRES},
            },
            "responses": _ok(_OBJECT),
        },
        "access_unassign_role": {
            "summary": "Take a role from a user",
            "errors": ("403",),
            "responses": _ok(None, "204", "revoked"),
        },
        "access_roles": {
            "summary": "List roles with their permissions",
            "errors": ("403",),
            "responses": _ok(_LIST),
        },
        "access_create_role": {
            "summary": "Create a role",
            "errors": (*_ADMIN, "409"),
            "request": _NAMED,
            "responses": _ok(_OBJECT, "201", "created"),
        },
        "access_permissions": {
            "summary": "A role's permissions",
            "errors": ("403",),
            "responses": _ok(_PERMISSIONS),
        },
        "access_set_permissions": {
            "summary": "Replace a role's permissions (switches enforcement on)",
            "errors": _ADMIN,
            "request": {
                "type": "object",
                "required": ["permissions"],
                "properties": {"permissions": {"type": "array", "items": _PERMISSION}},
            },
            "responses": _ok(_PERMISSIONS),
        },
        "access_create_team": {
            "summary": "Create a team",
            "errors": (*_ADMIN, "409"),
            "request": _NAMED,
            "responses": _ok(_OBJECT, "201", "created"),
        },
        "access_add_member": {
            "summary": "Add a user to a team",
            "errors": ("403",),
            "responses": _ok(None, "204", "added"),
        },
        "access_remove_member": {
            "summary": "Take a user out of a team",
            "errors": ("403",),
            "responses": _ok(None, "204", "removed"),
        },
        "access_shares": {
            "summary": "The shares of a record",
            "errors": ("403",),
            "query": [
                {"name": "entity", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "record_id", "in": "query", "required": True, "schema": _ID},
            ],
            "responses": _ok({"type": "object", "properties": {"items": {"type": "array", "items": _SHARE}}}),
        },
        "access_share": {
            "summary": "Share a record with a user or a team (read or write), optionally until expires_at",
            "errors": _ADMIN,
            "request": {
                "type": "object",
                "required": ["entity", "record_id"],
                "properties": {
                    "entity": {"type": "string", "pattern": NAME_PATTERN},
                    "record_id": _ID,
                    "user_id": _ID,
                    "team": {"type": "string"},
                    "permission": {"type": "string", "enum": ["read", "write"]},
                    "expires_at": _EXPIRES,
                },
            },
            "responses": _ok(_SHARE, "201", "shared"),
        },
        "access_unshare": {
            "summary": "Remove a share",
            "errors": ("403",),
            "responses": _ok(None, "204", "removed"),
        },
    }
)
