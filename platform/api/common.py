"""Shared API helpers: authentication, admin checks, JSON bodies and path/query parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user

from crm_platform import contextobjects
from crm_platform.auth import current
from crm_platform.auth.scopes import required_scope
from crm_platform.services import services
from metamodel.access.enforcement import require_configure
from metamodel.access.errors import AccessDenied
from metamodel.errors import CrmError, NotFound, Problem
from metamodel.records.hooks import Actor

F = TypeVar("F", bound=Callable[..., Any])
# Endpoints open without sign-in (the API description itself).
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})
MAX_ID = 2**63 - 1


class Unauthorized(CrmError):
    """No session and no valid API token."""

    code = "unauthorized"
    status = 401


class TokenExpired(CrmError):
    """The API token has passed its expiry."""

    code = "token_expired"
    status = 401


class InsufficientScope(CrmError):
    """The API token lacks the scope this request needs."""

    code = "insufficient_scope"
    status = 403


class Forbidden(CrmError):
    """The signed-in user may not do this."""

    code = "forbidden"
    status = 403


class BadRequest(CrmError):
    """The request is malformed (wrong content type, not an object, bad parameter)."""

    code = "bad_request"
    status = 400


class InvalidJson(CrmError):
    """The body is not parseable JSON."""

    code = "invalid_json"
    status = 400


class PayloadTooLarge(CrmError):
    """An upload exceeds the allowed size."""

    code = "too_large"
    status = 413


def init_blueprint(bp: Blueprint) -> None:
    """Require a signed-in user with the needed token scope."""

    @bp.before_request
    def _require_login() -> Response | None:
        authenticated = current.user().is_authenticated  # runs the token loader, which sets the token
        token = current.api_token()
        req = contextobjects.real_request()
        if req.endpoint in PUBLIC_ENDPOINTS:
            return None
        if token is not None and token.expired:
            raise TokenExpired("the API token has expired; create a new one")
        if not authenticated:
            raise Unauthorized("sign in or send an API token (Authorization: Bearer ...)")
        if token is not None:
            path = req.path.removeprefix(bp.url_prefix or "")
            needed = required_scope(req.method, path)
            if needed is not None and needed not in token.scopes:
                raise InsufficientScope(f"this token lacks the scope '{needed}'", required_scope=needed)
        return None


def admin_required(view: F) -> F:
    """Refuse the view with 403 unless the signed-in user is an administrator."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_admin", False):
            raise Forbidden("only administrators may change metadata")
        return view(*args, **kwargs)

    return cast(F, wrapper)


def configure_required(view: F) -> F:
    """Refuse the view with 403 unless the user is an administrator or a role lets her configure ('*')."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_admin", False):
            try:
                with services().engine.connect() as conn:
                    require_configure(conn, actor())
            except AccessDenied as exc:  # the same "forbidden" error as before roles could configure
                raise Forbidden(exc.message) from None
        return view(*args, **kwargs)

    return cast(F, wrapper)


def actor() -> Actor:
    """Return the record-runtime actor of the signed-in user."""
    return cast(Actor, current.user().actor())


def username() -> str:
    """Return the signed-in user's name (recorded on metadata changes)."""
    return str(current_user.username)


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """Return the request's JSON object; 400 for a wrong content type, bad JSON or a non-object."""
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise BadRequest("send the body as JSON with Content-Type: application/json")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidJson(f"the body is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", [Problem("", "expected an object", "type")])
    return data


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser would accept them.
    raise ValueError(f"{name} is not allowed")


def path_id(raw: str) -> int:
    """Parse a record or attachment id from the URL; 404 when it is not a positive integer."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 0 < int(raw) <= MAX_ID:
        raise NotFound(f"'{raw[:40]}' is not a record id")
    return int(raw)


def int_value(value: Any, name: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """Check that a body or query value is a whole number in range; 400 otherwise."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(
            f"'{name}' must be a whole number between {low} and {high}",
            [Problem(name, "must be a whole number", "type")],
        )
    return value


def created(body: Any, location: str) -> Response:
    """Return a 201 JSON response with a Location header."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response
