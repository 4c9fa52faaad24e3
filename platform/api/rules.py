"""Rule endpoints: the dry run of a trigger against existing data."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, configure_required, int_value, json_body
from crm_platform.services import services
from metamodel.errors import NotFound, Problem
from rule_engine.dryrun import dry_run


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
    with svc.engine.connect() as conn:
        report = dry_run(document, svc.metadata.model(), conn, svc.rules.clock(), svc.rules, limit)
    return jsonify(report)
