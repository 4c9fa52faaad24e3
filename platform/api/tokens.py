"""Credentials over the API: the signed-in user's tokens, and administrators' password resets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, jsonify, request
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, Forbidden, int_value, json_body, path_id
from crm_platform.api.schemas import ENDPOINTS, query_param
from crm_platform.auth import clock, signin
from crm_platform.auth.apitokens import create_token, list_tokens, revoke_token
from crm_platform.auth.scopes import ADMIN, ALL_SCOPES, normalize_scopes
from crm_platform.auth.users import load_user, set_password
from crm_platform.services import services
from metamodel.errors import NotFound, Problem

MAX_DAYS = 3650


def _requested_scopes(body: dict[str, Any]) -> tuple[str, ...]:
    """Return the scopes asked for (default: all the caller may give), checked against the caller's own."""
    raw = body.get("scopes")
    is_admin = bool(getattr(current_user, "is_admin", False))
    if raw is None:
        wanted = [s for s in ALL_SCOPES if s != ADMIN or is_admin]
    elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        wanted = raw
    else:
        raise BadRequest(
            "'scopes' must be a list of scope names",
            [Problem("scopes", "expected a list of strings", "type")],
        )
    scopes = normalize_scopes(wanted)
    if ADMIN in scopes and not is_admin:
        raise Forbidden("only administrators may create tokens with the 'admin' scope")
    caller = g.get("api_token")
    if caller is not None:
        # A token may create tokens, but never one that can do more than itself.
        beyond = [s for s in scopes if s not in caller.scopes]
        if raw is None:
            scopes = tuple(s for s in scopes if s in caller.scopes)
        elif beyond:
            raise Forbidden(f"this token cannot grant scopes it lacks: {', '.join(beyond)}")
    return scopes


@bp.post("/tokens")
def tokens_create() -> Any:
    """Create an API token for the signed-in user; it is shown only in this response."""
    body = json_body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise BadRequest(
            "'name' must be 1-100 characters", [Problem("name", "must be 1-100 characters", "type")]
        )
    days = body.get("days")
    if days is not None:
        days = int_value(days, "days", high=MAX_DAYS)
    scopes = _requested_scopes(body)
    token = create_token(services().engine, int(current_user.id), name.strip(), days, scopes)
    expires = clock.now() + dt.timedelta(days=days) if days else None
    return jsonify(
        {
            "token": token,
            "name": name.strip(),
            "scopes": list(scopes),
            "expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None,
        }
    ), 201


@bp.get("/tokens")
def tokens_list() -> Any:
    """List the signed-in user's tokens (an administrator's ``?all=true``: everyone's); never the secrets."""
    everyone = request.args.get("all", "").lower() in ("1", "true", "yes")
    if everyone and not getattr(current_user, "is_admin", False):
        raise Forbidden("only administrators may list every user's tokens")
    return jsonify({"items": list_tokens(services().engine, None if everyone else int(current_user.id))})


@bp.delete("/tokens/<token_id>")
def tokens_revoke(token_id: str) -> Any:
    """Revoke a token of the signed-in user (administrators: anyone's); 404 for others' tokens."""
    owner = None if getattr(current_user, "is_admin", False) else int(current_user.id)
    if not revoke_token(services().engine, path_id(token_id), owner):
        raise NotFound(f"no token {token_id}")
    return "", 204


def _require_admin() -> None:
    if not getattr(current_user, "is_admin", False):
        raise Forbidden("only administrators may manage other users' credentials")


@bp.post("/users/<user_id>/password")
def users_set_password(user_id: str) -> Any:
    """Set a user's password (administrators); by default the user must choose a new one at next sign-in."""
    _require_admin()
    body = json_body()
    password = body.get("password")
    if not isinstance(password, str):
        raise BadRequest("'password' must be a string", [Problem("password", "expected a string", "type")])
    must_change = body.get("must_change", True)
    if not isinstance(must_change, bool):
        raise BadRequest(
            "'must_change' must be true or false", [Problem("must_change", "expected a boolean", "type")]
        )
    engine = services().engine
    user = load_user(engine, path_id(user_id))
    if user is None:
        raise NotFound(f"no user {user_id}")
    set_password(engine, user.username, password, must_change=must_change)
    signin.unlock(engine, user.username)  # a reset is how a locked-out user gets back in
    return jsonify({"id": user.id, "username": user.username, "must_change_password": must_change})


@bp.post("/users/<user_id>/unlock")
def users_unlock(user_id: str) -> Any:
    """Lift a sign-in lock of a user (administrators)."""
    _require_admin()
    engine = services().engine
    user = load_user(engine, path_id(user_id))
    if user is None:
        raise NotFound(f"no user {user_id}")
    return jsonify(
        {"id": user.id, "username": user.username, "was_locked": signin.unlock(engine, user.username)}
    )


_JSON = "application/json"
_USER_REF = {
    "type": "object",
    "required": ["id", "username"],
    "properties": {"id": {"type": "integer"}, "username": {"type": "string"}},
}
ENDPOINTS.update(
    {
        "tokens_list": {
            "summary": "The signed-in user's API tokens (administrators: everyone's with all=true); no secrets",
            "errors": ("403",),
            "query": [query_param("all", {"type": "boolean"}, "every user's tokens (administrators)")],
            "responses": {
                "200": (
                    "OK",
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": {"type": "object"}}},
                    },
                    _JSON,
                )
            },
        },
        "tokens_revoke": {
            "summary": "Revoke a token (the caller's own; administrators: anyone's)",
            "responses": {"204": ("revoked", None, _JSON)},
        },
        "users_set_password": {
            "summary": "Set a user's password (administrators); must_change defaults to true",
            "errors": ("403", "422"),
            "request": {
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string"}, "must_change": {"type": "boolean"}},
            },
            "responses": {"200": ("OK", _USER_REF, _JSON)},
        },
        "users_unlock": {
            "summary": "Lift a user's sign-in lock (administrators)",
            "errors": ("403",),
            "responses": {"200": ("OK", _USER_REF, _JSON)},
        },
    }
)
