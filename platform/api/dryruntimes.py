"""The times a dry run is asked about: one moment (``at``) or a window (``from`` … ``until``).

Shared by ``POST /api/v1/meta/dry-run`` and the studio's "Test on live data".  A time without an
offset is read in ``zone`` (the API: the site's; the studio: the user's).  Bad input is a translated
400, never a stack trace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from crm_platform.api.common import BadRequest
from crm_platform.i18n import t
from metamodel.errors import Problem
from rule_engine.dryrunwindow import MAX_WINDOW


@dataclass(frozen=True)
class DryRunTimes:
    """When to judge: ``at`` (the clock, or a time asked for), and a window's end and optional start."""

    at: dt.datetime
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def parse_time(value: Any, name: str, zone: ZoneInfo) -> dt.datetime | None:
    """Return an ISO time as an aware datetime (no offset: in ``zone``); None when empty; 400 when malformed."""
    if value is None or value == "":
        return None
    moment = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        raise BadRequest(
            t("rules.dry.bad_time", name=name), [Problem(name, t("rules.dry.bad_time", name=name), "format")]
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def dry_run_times(values: Mapping[str, Any], now: dt.datetime, zone: ZoneInfo) -> DryRunTimes:
    """Read ``at``, ``from`` and ``until``; 400 for a mix of both kinds, a reversed or too long window."""
    at = parse_time(values.get("at"), "at", zone)
    since = parse_time(values.get("from"), "from", zone)
    until = parse_time(values.get("until"), "until", zone)
    if at is not None and (since is not None or until is not None):
        raise _refused("at", "rules.dry.at_and_window")
    if since is not None and until is None:
        raise _refused("until", "rules.dry.from_needs_until")
    if until is not None:
        start = since or now
        if until <= start:
            raise _refused("until", "rules.dry.order")
        if until - start > MAX_WINDOW:
            raise _refused("until", "rules.dry.too_long", days=MAX_WINDOW.days)
    return DryRunTimes(at or now, since, until)


def _refused(name: str, key: str, **values: Any) -> BadRequest:
    message = t(key, **values)
    return BadRequest(message, [Problem(name, message, "window")])
