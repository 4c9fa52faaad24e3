"""Audit-log endpoints: browse and export for auditors and administrators, and a record's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request, stream_with_context
from flask_login import current_user

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, Forbidden, actor, int_value, path_id
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.auditing import current_origin
from crm_platform.contextobjects import real_request
from crm_platform.services import services
from metamodel.audit import AuditQuery, browse, csv_lines, iterate, may_audit, record_access_change
from metamodel.audit.query import MAX_LIMIT
from metamodel.errors import Problem
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime

DEFAULT_LIMIT = 50


def _auditors_only() -> None:
    svc = services()
    with svc.engine.connect() as conn:
        allowed = may_audit(conn, int(current_user.id), bool(current_user.is_admin), svc.clock())
    if not allowed:
        raise Forbidden("only auditors and administrators may read the audit log")


def _time(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO 8601 date or date and time",
            [Problem(name, "e.g. 2026-11-23 or 2026-11-23T14:00:00Z", "type")],
        ) from None
    # Times without an offset are UTC, like every stored time.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _query(*, entity: str | None = None, record_id: int | None = None) -> AuditQuery:
    args = request.args
    raw_id = args.get("record_id")
    cursor = args.get("cursor")
    return AuditQuery(
        entity=entity or args.get("entity") or None,
        record_id=record_id
        if record_id is not None
        else (int_value(raw_id, "record_id") if raw_id else None),
        actor=(args.get("actor") or "")[:80] or None,
        action=(args.get("action") or "")[:30] or None,
        since=_time("since"),
        until=_time("until"),
        before_id=int_value(cursor, "cursor") if cursor else None,
        limit=int_value(args.get("limit", DEFAULT_LIMIT), "limit", high=MAX_LIMIT),
    )


def _page(
    query: AuditQuery, shape: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
) -> Any:
    with services().engine.connect() as conn:
        items, cursor = browse(conn, query)
    if shape is not None:
        items = shape(items)
    return jsonify(
        {
            "items": items,
            "next_cursor": None if cursor is None else str(cursor),
            "has_more": cursor is not None,
        }
    )


@bp.get("/audit")
def audit_list() -> Any:
    """Browse the audit log, newest first, with filters and keyset paging (auditors and administrators)."""
    _auditors_only()
    return _page(_query())


@bp.get("/audit/export")
def audit_export() -> Any:
    """Export the matching entries as CSV (UTF-8 with BOM, formula-safe), streamed."""
    _auditors_only()
    query = _query()
    engine = services().engine

    def generate() -> Any:
        with engine.connect() as conn:
            yield from csv_lines(iterate(conn, query))

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


@bp.get("/records/<entity>/<record_id>/audit")
def audit_record(entity: str, record_id: str) -> Any:
    """Return a record's audit history, newest first (for users who may read the record)."""
    runtime = services().runtime()
    entity_model(runtime, entity)
    number = path_id(record_id)
    record = runtime.get(entity, number, actor())  # 404 (or 403) unless the user may read the record
    return _page(
        _query(entity=entity, record_id=number), lambda items: _as_seen(runtime, entity, record, items)
    )


def _as_seen(
    runtime: RecordRuntime, entity: str, record: dict[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Show the logged values as the reader sees the record now: what the record views mask or hide
    (field rules, a pooled record's contact fields) stays masked or hidden in its history too."""
    if not runtime.hooks.record_views:
        return items
    model = runtime.model.entity(entity)
    with runtime.engine.connect() as conn:
        reader = runtime.resolve(actor(), conn)
        for item in items:
            changes = item.get("changes")
            if not item.get("action", "").startswith("record.") or not isinstance(changes, dict):
                continue
            logged = {
                k: v for k, v in changes.items() if k in model.fields and isinstance(v, list) and len(v) == 2
            }
            base = {"id": record["id"], "owner_id": record.get("owner_id")}
            sides = [
                runtime.present_as(entity, {**base, **{k: v[i] for k, v in logged.items()}}, reader, conn)
                for i in (0, 1)
            ]
            hidden = [name for name in logged if name not in sides[0] or name not in sides[1]]
            for name in logged:
                if name in hidden:
                    del changes[name]  # a field hidden from the reader
                else:
                    changes[name] = [sides[0][name], sides[1][name]]
            if hidden and item.get("action") == "record.update":
                item["summary"] = _visible_summary(entity, record["id"], changes)
    return items


def _visible_summary(entity: str, record_id: int, changes: dict[str, Any]) -> str:
    # The stored summary lists every changed field; rebuilt from what the reader may see, it never
    # names a hidden one (nor tells how many there were).
    names = ", ".join(changes) or "no field you may see changed"
    return f"updated {entity} {record_id}: {names}"


@bp.after_request
def _log_access_change(response: Response) -> Response:
    # Access-control administration commits in its own transactions; log each successful change
    # right after it (the access service may call record_access_change in-transaction instead).
    req = real_request()
    if req.method in ("GET", "HEAD", "OPTIONS") or response.status_code >= 400:
        return response
    path = req.path.removeprefix(bp.url_prefix or "")
    if not path.startswith("/access/"):
        return response
    body = request.get_json(silent=True, cache=True)
    who = Actor(
        int(current_user.id),
        str(current_user.username),
        bool(current_user.is_admin),
        services().clock(),
        current_origin(),
    )
    with services().engine.begin() as conn:
        record_access_change(
            conn, who, f"{request.method} {path}", {"request": body, "status": response.status_code}
        )
    return response


_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("entity", {"type": "string"}, "entity name"),
        ("record_id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, "record id"),
        ("actor", {"type": "string"}, "user name or user id"),
        ("action", {"type": "string"}, "an action (record.update) or a family (record, meta, auth, access)"),
        ("since", {"type": "string", "format": "date-time"}, "entries at or after this time"),
        ("until", {"type": "string", "format": "date-time"}, "entries before this time"),
        ("cursor", {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}, "next_cursor of the previous page"),
        ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "page size"),
    )
]
_ENTRY = {
    "type": "object",
    "required": ["id", "at", "action", "summary"],
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "actor_id": {"type": "integer", "nullable": True},
        "actor_name": {"type": "string", "nullable": True},
        "origin": {"type": "string", "nullable": True},
        "action": {"type": "string"},
        "entity": {"type": "string", "nullable": True},
        "record_id": {"type": "integer", "nullable": True},
        "summary": {"type": "string"},
        "changes": {"type": "object", "nullable": True, "additionalProperties": True},
    },
}
_PAGE = {
    "type": "object",
    "required": ["items", "next_cursor", "has_more"],
    "properties": {
        "items": {"type": "array", "items": _ENTRY},
        "next_cursor": {"type": "string", "nullable": True},
        "has_more": {"type": "boolean"},
    },
}
ENDPOINTS.update(
    {
        "audit_list": {
            "summary": "Browse the audit log, newest first (auditors and administrators)",
            "errors": ("400", "403"),
            "query": _PARAMS,
            "responses": {"200": ("OK", _PAGE, "application/json")},
        },
        "audit_export": {
            "summary": "Export audit entries as CSV (UTF-8 with BOM)",
            "errors": ("400", "403"),
            "query": [p for p in _PARAMS if p["name"] not in ("cursor", "limit")],
            "responses": {"200": ("CSV", {"type": "string"}, "text/csv")},
        },
        "audit_record": {
            "summary": "A record's audit history, newest first",
            "query": [p for p in _PARAMS if p["name"] not in ("entity", "record_id")],
            "responses": {"200": ("OK", _PAGE, "application/json")},
        },
    }
)
