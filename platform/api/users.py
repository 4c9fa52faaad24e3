"""User management over the API (administrators only): list, create, change roles and org unit,
deactivate and reactivate, reset the password. The studio's users page calls the same UserAdmin."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from crm_platform.api import bp
from crm_platform.api.access import _admins_only
from crm_platform.api.common import created, int_value, json_body, path_id
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from crm_platform.auth.useradmin import UserAdmin
from crm_platform.services import services
from metamodel.access import AccessAdmin
from metamodel.access.admin import ACCESS_NAME_PATTERN
from metamodel.errors import Problem, RecordInvalid
from metamodel.sitesettings import zone_names


def user_admin() -> UserAdmin:
    """Return the user-management service over the app's database."""
    svc = services()
    return UserAdmin(svc.engine, AccessAdmin(svc.engine, svc.clock))


@bp.get("/users")
@_admins_only
def users_list() -> Any:
    """List users (?q= searches name and display name, ?active=true|false, ?limit=, ?offset=)."""
    args = request.args
    active = {"true": True, "false": False}.get(args.get("active", ""))
    limit = int_value(args.get("limit") or 50, "limit", high=200)
    offset = int_value(args.get("offset") or 0, "offset", low=0)
    return jsonify(user_admin().page(args.get("q", ""), active=active, limit=limit, offset=offset))


@bp.post("/users")
@_admins_only
def users_create() -> Any:
    """Create a user with an org unit and roles; the password must pass the strength rule."""
    user = user_admin().create(json_body())
    return created(user, url_for("api.users_get", user_id=str(user["id"])))


@bp.get("/users/<user_id>")
@_admins_only
def users_get(user_id: str) -> Any:
    """Return one user with org unit, roles and teams."""
    return jsonify(user_admin().get(path_id(user_id)))


@bp.patch("/users/<user_id>")
@_admins_only
def users_update(user_id: str) -> Any:
    """Change a user's display name, org unit (null: none) or roles (the list replaces every grant)."""
    return jsonify(user_admin().update(path_id(user_id), json_body()))


@bp.post("/users/<user_id>/deactivate")
@_admins_only
def users_deactivate(user_id: str) -> Any:
    """Deactivate a user: her sessions and tokens stop at once."""
    return jsonify(user_admin().set_active(path_id(user_id), False))


@bp.post("/users/<user_id>/activate")
@_admins_only
def users_activate(user_id: str) -> Any:
    """Reactivate a user."""
    return jsonify(user_admin().set_active(path_id(user_id), True))


@bp.post("/users/<user_id>/reset-password")
@_admins_only
def users_reset_password(user_id: str) -> Any:
    """Set a new password (the strength rule applies); she must change it at next sign-in by default."""
    body = json_body()
    must_change = body.get("must_change", True)
    if not isinstance(must_change, bool):
        raise RecordInvalid(
            "'must_change' must be true or false", [Problem("must_change", "boolean", "type")]
        )
    return jsonify(
        user_admin().reset_password(path_id(user_id), body.get("password"), must_change=must_change)
    )


_JSON = "application/json"
_EXPIRES = {"type": "string", "format": "date-time", "nullable": True}
_GRANT = {"type": "object", "properties": {"role": {"type": "string"}, "expires_at": _EXPIRES}}
_USER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "username", "is_active", "roles"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "locale": {"type": "string"},
        "is_admin": {"type": "boolean"},
        "is_active": {"type": "boolean"},
        "must_change_password": {"type": "boolean"},
        "unit_id": {"type": "integer", "nullable": True},
        "roles": {"type": "array", "items": _GRANT},
        "time_zone": {"type": "string", "nullable": True, "description": "her own zone; null: the site's"},
    },
    "additionalProperties": True,
}
_ROLE_NAME = {"type": "string", "pattern": ACCESS_NAME_PATTERN}
_ROLES = {
    "type": "array",
    "items": {
        "oneOf": [
            _ROLE_NAME,
            {
                "type": "object",
                "required": ["role"],
                "properties": {"role": _ROLE_NAME, "expires_at": _EXPIRES},
            },
        ]
    },
}
_CHANGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string"},
        "unit_id": {"type": "integer", "nullable": True},
        "roles": _ROLES,
        "time_zone": {
            "type": "string",
            "nullable": True,
            "enum": [*zone_names(), "", None],
            "description": "the zone she reads and types datetimes in (IANA name); null or '': the site's",
        },
    },
}
_NEW = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        **_CHANGE["properties"],
        "username": {"type": "string", "pattern": r"^[A-Za-z0-9_.]{1,80}$"},
        "password": {
            "type": "string",
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_LENGTH,
            "description": "checked for strength (zxcvbn) and against common passwords",
        },
        "locale": {"type": "string", "enum": ["en", "zh-CN"]},
        "is_admin": {"type": "boolean"},
    },
}


def _ok(schema: dict[str, Any], status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: (description, schema, _JSON)}


ENDPOINTS.update(
    {
        "users_list": {
            "summary": "List users with their org unit and roles",
            "errors": ("403", "422"),
            "query": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "active", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
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
                    "properties": {"items": {"type": "array", "items": _USER}, "total": {"type": "integer"}},
                }
            ),
        },
        "users_create": {
            "summary": "Create a user (password checked by the strength rule), with org unit and roles",
            "errors": ("403", "409", "422"),
            "request": _NEW,
            "responses": _ok(_USER, "201", "created"),
        },
        "users_get": {
            "summary": "A user with org unit, roles and teams",
            "errors": ("403", "404"),
            "responses": _ok(_USER),
        },
        "users_update": {
            "summary": "Change a user's display name, org unit, roles or time zone",
            "errors": ("403", "404", "422"),
            "request": _CHANGE,
            "responses": _ok(_USER),
        },
        "users_deactivate": {
            "summary": "Deactivate a user (sessions and tokens end at once)",
            "errors": ("403", "404"),
            "responses": _ok(_USER),
        },
        "users_activate": {"summary": "Reactivate a user", "errors": ("403", "404"), "responses": _ok(_USER)},
        "users_reset_password": {
            "summary": "Set a new password; by default it must be changed at next sign-in",
            "errors": ("403", "404", "422"),
            "request": {
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string"}, "must_change": {"type": "boolean"}},
            },
            "responses": _ok(_USER),
        },
    }
)
