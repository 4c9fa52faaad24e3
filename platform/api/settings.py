"""Site settings over the API: read them (any signed-in user), change them (administrators, audited).

The time zone is an IANA name (``Asia/Shanghai``); null or "" restores the default (Asia/Shanghai on a
zh-CN site, UTC otherwise). An unknown zone is refused with 422 and nothing is changed.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import Forbidden, actor, json_body
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.services import services
from crm_platform.timezones import change_site_settings, read_site_settings
from metamodel.errors import Problem
from metamodel.sitesettings import LANGUAGES, SettingsInvalid, zone_names


@bp.get("/settings")
def settings_get() -> Any:
    """Return the site's language and time zone, their defaults and which of them were set explicitly."""
    return jsonify(read_site_settings(services().engine).as_dict())


@bp.patch("/settings")
def settings_update() -> Any:
    """Change the site's language or time zone (administrators only; written to the audit log)."""
    if not getattr(current_user, "is_admin", False):
        raise Forbidden("only administrators may change the site settings")
    body = json_body()
    if not body:
        problem = Problem("settings", "send language and/or time_zone", "required")
        raise SettingsInvalid("nothing to change", [problem])
    return jsonify(change_site_settings(services().engine, body, actor()).as_dict())


@bp.get("/settings/time-zones")
def settings_time_zones() -> Any:
    """Return every IANA time zone name the site accepts."""
    return jsonify({"items": zone_names()})


_SETTINGS = {
    "type": "object",
    "required": ["language", "time_zone", "defaults", "explicit"],
    "properties": {
        "language": {"type": "string", "enum": list(LANGUAGES)},
        "time_zone": {"type": "string", "example": "Asia/Shanghai"},
        "defaults": {"type": "object", "properties": {"time_zone": {"type": "string"}}},
        "explicit": {"type": "array", "items": {"type": "string", "enum": ["language", "time_zone"]}},
    },
}
_CHANGE = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "language": {"type": "string", "enum": list(LANGUAGES), "nullable": True},
        "time_zone": {
            "type": "string",
            "nullable": True,
            "enum": [*zone_names(), "", None],
            "example": "Asia/Shanghai",
            "description": "an IANA time zone (GET /settings/time-zones lists them); null or '' restores the "
            "default; any other name is refused with 422",
        },
    },
}
_TIME_RULE = (
    " Datetimes are stored in UTC: the API reads and writes ISO 8601 with an offset "
    "(2026-01-31T09:30:00+08:00); a datetime sent without an offset is taken as UTC, and datetimes "
    "are returned in UTC (…Z). today(), date fields, 'N days after' rules, cron rules and date "
    "buckets count days in the site's time zone."
)
ENDPOINTS.update(
    {
        "settings_get": {
            "summary": "The site settings: language and time zone" + _TIME_RULE,
            "responses": {"200": ("OK", _SETTINGS, "application/json")},
        },
        "settings_update": {
            "summary": "Change the site's language or time zone (administrators; audited as settings.change)",
            "errors": ("403", "422"),
            "request": _CHANGE,
            "responses": {"200": ("OK", _SETTINGS, "application/json")},
        },
        "settings_time_zones": {
            "summary": "Every IANA time zone name a setting may use",
            "responses": {
                "200": (
                    "OK",
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": {"type": "string"}}},
                    },
                    "application/json",
                )
            },
        },
    }
)
