"""GET /api/v1/plugins: the installed plugins with version, source, status and errors (administrators)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import Forbidden
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services


@bp.get("/plugins")
def plugins_list() -> Any:
    """List every plugin found: active, failed (with its error), disabled or missing."""
    if not getattr(current_user, "is_admin", False):
        raise Forbidden("only administrators may see the installed plugins")
    return jsonify({"plugins": [status.as_dict() for status in services().plugins.statuses]})


_PLUGIN = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "source": {"type": "string", "enum": ["bundled", "entry point", "module"]},
        "status": {"type": "string", "enum": ["active", "failed", "disabled", "missing"]},
        "error": {"type": "string", "nullable": True},
        "hook_errors": {"type": "integer"},
        "last_hook_error": {"type": "string", "nullable": True},
    },
}
ENDPOINTS.update(
    {
        "plugins_list": {
            "summary": "The installed plugins: version, source, status and errors (administrators)",
            "errors": ("403",),
            "responses": {
                "200": (
                    "OK",
                    {"type": "object", "properties": {"plugins": {"type": "array", "items": _PLUGIN}}},
                    "application/json",
                )
            },
        },
    }
)
