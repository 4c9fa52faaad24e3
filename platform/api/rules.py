"""Rule endpoints: the dry run of a trigger against existing data, and the firing ledger for admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request
from sqlalchemy import RowMapping, select

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, configure_required, int_value, json_body
from crm_platform.api.dryruntimes import dry_run_times
from crm_platform.api.schemas import ENDPOINTS, query_param
from crm_platform.i18n import t
from crm_platform.services import services
from metamodel.errors import NotFound, Problem
from rule_engine.dryrun import dry_run
from rule_engine.tables import firings, rule_watermarks

FIRING_STATUSES = ("done", "skipped", "failed", "retry")


@bp.post("/meta/dry-run")
@configure_required
def meta_dry_run() -> Any:
    """Report which records a draft (or given) trigger would match or fire now; changes nothing."""
    body = json_body()
    svc = services()
    document = body.get("document")
    name = body.get("trigger")
    if (document is None) == (name is None):
        raise BadRequest(
            "give either 'trigger' (the name of a draft trigger) or 'document' (a trigger document)",
            [Problem("trigger", "give a trigger name or a document", "required")],
        )
    if name is not None:
        if not isinstance(name, str) or not name or len(name) > 100:
            raise BadRequest("'trigger' must be a name", [Problem("trigger", "must be text", "type")])
        document = svc.metadata.draft().documents["trigger"].get(name)
        if document is None:
            raise NotFound(f"the draft has no trigger '{name}'")
    if not isinstance(document, dict):
        raise BadRequest("'document' must be an object", [Problem("document", "expected an object", "type")])
    limit = int_value(body.get("limit", 100), "limit", high=1000)
    site = svc.metadata.model()
    times = dry_run_times(body, svc.rules.clock(), site.time_zone)
    if times.until is not None and document.get("event") != "time":
        message = t("rules.dry.time_only")
        raise BadRequest(message, [Problem("until", message, "window")])
    with svc.engine.connect() as conn:
        report = dry_run(
            document, site, conn, times.at, svc.rules, limit, until=times.until, since=times.since
        )
    return jsonify(report)


@bp.get("/meta/rule-firings")
@configure_required
def meta_rule_firings() -> Any:
    """List ledger firings (newest first; e.g. ``?status=skipped``) and each time rule's watermark."""
    args = request.args
    status = args.get("status") or None
    if status is not None and status not in FIRING_STATUSES:
        raise BadRequest(
            t("rules.firings.bad_status", choices=", ".join(FIRING_STATUSES)),
            [Problem("status", "unknown status", "enum")],
        )
    limit = int_value(args.get("limit", 100), "limit", high=1000)
    query = select(firings).order_by(firings.c.id.desc()).limit(limit)
    if status:
        query = query.where(firings.c.status == status)
    if args.get("rule"):
        query = query.where(firings.c.rule == args["rule"][:100])
    with services().engine.connect() as conn:
        items = [_jsonable(row) for row in conn.execute(query).mappings()]
        marks = [_jsonable(row) for row in conn.execute(select(rule_watermarks).order_by("rule")).mappings()]
    return jsonify({"items": items, "watermarks": marks})


def _jsonable(row: RowMapping) -> dict[str, Any]:
    return {
        str(key): value.isoformat() if isinstance(value, dt.datetime) else value for key, value in row.items()
    }


ENDPOINTS["meta_rule_firings"] = {
    "summary": "Trigger firings of the ledger, newest first, and each time rule's watermark",
    "errors": ("400", "403"),
    "query": [
        query_param(
            "status", {"type": "string", "enum": list(FIRING_STATUSES)}, "only firings in this state"
        ),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most this many"),
        query_param("rule", {"type": "string", "maxLength": 100}, "only this rule's firings"),
    ],
    "responses": {
        "200": (
            "OK",
            {
                "type": "object",
                "required": ["items", "watermarks"],
                "properties": {
                    "items": {"type": "array", "items": {"type": "object"}},
                    "watermarks": {"type": "array", "items": {"type": "object"}},
                },
            },
            "application/json",
        )
    },
}
