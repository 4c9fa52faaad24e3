"""API tokens for the signed-in user."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, int_value, json_body
from crm_platform.auth.users import create_token
from crm_platform.services import services
from metamodel.errors import Problem

MAX_DAYS = 3650


@bp.post("/tokens")
def tokens_create() -> Any:
    """Create an API token for the signed-in user; it is shown only in this response."""
    body = json_body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise BadRequest("'name' must be 1-100 characters", [Problem("name", "must be 1-100 characters", "type")])
    days = body.get("days")
    if days is not None:
        days = int_value(days, "days", high=MAX_DAYS)
    token = create_token(services().engine, int(current_user.id), name.strip(), days)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    return jsonify(
        {"token": token, "name": name.strip(), "expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None}
    ), 201
