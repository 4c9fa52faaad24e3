"""Record endpoints: list with filters and paging, create, read, update (PATCH/PUT), delete, lookup."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from crm_platform.api import bp
from crm_platform.api.common import BadRequest, actor, int_value, json_body, path_id
from crm_platform.i18n import t
from crm_platform.services import services
from metamodel.errors import BadQuery, CrmError, NotFound, Problem
from metamodel.model import EntityModel
from metamodel.records.query import (
    MAX_LIMIT,
    MAX_OFFSET,
    OFFSET_TOO_LARGE,
    ListQuery,
    parse_list_args,
)
from metamodel.records.runtime import RecordRuntime

LOOKUP_LIMIT = 20


def entity_model(runtime: RecordRuntime, entity: str) -> EntityModel:
    """Return a published top-level entity; child-table entities only exist as lines (404)."""
    model = runtime.model.entity(entity)
    if model.entity.is_child:
        raise NotFound(f"'{entity}' records only exist as lines of their parent")
    return model


def translated(exc: BadQuery) -> BadQuery:
    """Return ``exc`` with the deep-offset problem in the reader's language."""
    for problem in exc.problems:
        if problem.code == OFFSET_TOO_LARGE:
            message = t("api.offset_too_large", limit=MAX_OFFSET)
            return BadQuery(
                message,
                [Problem(p.path, message if p is problem else p.message, p.code) for p in exc.problems],
            )
    return exc


def _with_etag(record: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(record)
    response.status_code = status
    response.headers["ETag"] = f'"{record["lock_version"]}"'
    return response


def expected_version(body: dict[str, Any]) -> int | None:
    """Return the lock_version the client read, from the body or If-Match; None when neither is sent."""
    if body.get("lock_version") is not None:
        return int_value(body["lock_version"], "lock_version", high=2**31)
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    return int_value(tag, "If-Match", high=2**31)


class VersionRequired(CrmError):
    """The entity requires writes to name the version they read."""

    code = "version_required"
    status = 428


def required_version(model: EntityModel, version: int | None) -> int | None:
    """Return ``version``; 428 when the entity requires one and the client sent none.

    Without ``require_version`` an unversioned PATCH changes only the fields it sends and is never
    refused as stale (last write wins per field); a versioned one is refused with 409 when stale.
    """
    if version is None and model.entity.doc.get("require_version"):
        raise VersionRequired(t("api.version_required"))
    return version


@bp.get("/records/<entity>")
def records_list(entity: str) -> Any:
    """List records with filters (field__op=value), search, sort and offset or keyset paging."""
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    try:
        query = parse_list_args(model, runtime.registry, request.args.to_dict(flat=False))
    except BadQuery as exc:
        raise translated(exc) from None
    page = runtime.list(entity, query, actor())
    return jsonify(
        {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more, "total": page.total}
    )


@bp.post("/records/<entity>")
def records_create(entity: str) -> Any:
    """Create a record (with its child lines)."""
    runtime = services().runtime()
    entity_model(runtime, entity)
    body = json_body()
    record = runtime.create(entity, body, actor())
    response = _with_etag(record, 201)
    response.headers["Location"] = url_for("api.records_get", entity=entity, record_id=str(record["id"]))
    return response


@bp.get("/records/<entity>/lookup")
def records_lookup(entity: str) -> Any:
    """Return [{id, title}] of records matching ``q``, for link pickers."""
    runtime = services().runtime()
    entity_model(runtime, entity)
    limit = int_value(request.args.get("limit") or LOOKUP_LIMIT, "limit", high=MAX_LIMIT)
    search = (request.args.get("q") or "").strip()[:200] or None
    page = runtime.list(entity, ListQuery(search=search, limit=limit), actor())
    ids = [item["id"] for item in page.items]
    titles = runtime.titles(entity, ids, actor=actor()) if ids else {}
    return jsonify([{"id": i, "title": titles.get(i, f"#{i}")} for i in ids])


@bp.get("/records/<entity>/<record_id>")
def records_get(entity: str, record_id: str) -> Any:
    """Return one record with its lines and link titles; ETag is its lock_version."""
    runtime = services().runtime()
    entity_model(runtime, entity)
    return _with_etag(runtime.get(entity, path_id(record_id), actor()))


@bp.patch("/records/<entity>/<record_id>")
def records_patch(entity: str, record_id: str) -> Any:
    """Change the given fields (lock_version in the body or If-Match guards against lost updates)."""
    return _update(entity, record_id, partial=True)


@bp.put("/records/<entity>/<record_id>")
def records_put(entity: str, record_id: str) -> Any:
    """Replace every field; fields left out become empty."""
    return _update(entity, record_id, partial=False)


def _update(entity: str, raw_id: str, *, partial: bool) -> Response:
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    record_id = path_id(raw_id)
    body = json_body()
    version = required_version(model, expected_version(body))
    # PUT: fields left out become empty, except those the user may not change (the runtime knows).
    record = runtime.update(entity, record_id, body, actor(), expected_version=version, replace=not partial)
    return _with_etag(record)


@bp.delete("/records/<entity>/<record_id>")
def records_delete(entity: str, record_id: str) -> Any:
    """Delete a record (409 when a restricting link still points at it)."""
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    number = path_id(record_id)
    if request.get_data(cache=True).strip():
        raise BadRequest("DELETE takes no body", [Problem("", "unexpected body", "body")])
    runtime.delete(entity, number, actor(), expected_version=required_version(model, expected_version({})))
    return Response(status=204)


__all__ = ["entity_model", "expected_version"]
