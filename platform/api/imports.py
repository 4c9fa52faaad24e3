"""Importing CSV and XLSX files: upload, map, dry run, run in the background, follow, error report, undo."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from crm_platform.api import bp
from crm_platform.api.common import actor, json_body, path_id
from crm_platform.api.records import entity_model
from crm_platform.api.schemas import ENDPOINTS
from crm_platform.imports_worker import kick, live_progress
from crm_platform.problemwords import worded
from crm_platform.services import services
from metamodel.access import require
from metamodel.access.errors import AccessDenied
from metamodel.errors import Conflict, NotFound, Problem, RecordInvalid
from metamodel.imports import checks
from metamodel.imports.files import read_table
from metamodel.imports.jobs import create_job, job_row, plan_job, progress
from metamodel.imports.mapping import auto_map, targets
from metamodel.imports.options import parse_options
from metamodel.imports.report import error_csv, error_rows
from metamodel.imports.runner import dry_run, start
from metamodel.imports.undo import undo

MAX_FILE_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 5


@bp.post("/records/<entity>/imports")
def imports_upload(entity: str) -> Any:
    """Upload a CSV or XLSX file: a draft import with the suggested mapping and a preview."""
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise RecordInvalid("choose a CSV or XLSX file", [Problem("file", "a file is required", "required")])
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise RecordInvalid("the file is too large", [Problem("file", "at most 50 MB", "max_size")])
    table = read_table(data, upload.filename, request.form.get("encoding") or None)
    with runtime.transaction(write=True) as conn:
        who = require(conn, runtime.resolve(actor(), conn), entity, "import")
        job_id = create_job(conn, entity, table, upload.filename, who.user_id, runtime.clock())
        job = job_row(conn, job_id)
    available = targets(runtime.model, model)
    body = {
        **progress(job, runtime.clock()),
        "mapping": auto_map(table.headers, available),
        "targets": [{"name": t.name, "labels": t.labels, "type": t.field.type} for t in available],
        "preview": table.rows[:PREVIEW_ROWS],
    }
    return jsonify(body), 201


@bp.get("/records/<entity>/imports/<job_id>")
def imports_get(entity: str, job_id: str) -> Any:
    """The import's state and progress: rows done, rows per second, estimated time left."""
    runtime = services().runtime()
    job = _own_job(entity, path_id(job_id))
    return jsonify(_state(runtime, job))


def _state(runtime: Any, job: dict[str, Any]) -> dict[str, Any]:
    # A dry run running in this process tells its progress in memory (it writes nothing until it ends).
    live = live_progress(int(job["id"])) if job["status"] == "checking" else None
    state = progress({**job, **live} if live else job, runtime.clock())
    if job["status"] == "checked":
        with runtime.transaction() as conn:
            state["report"] = _worded(checks.stored_report(conn, job))
    return state


def _worded(report: dict[str, Any]) -> dict[str, Any]:
    """Return a dry-run report with each row's message in the reader's language."""
    errors = [
        {**error, "message": worded(str(error.get("message", "")))} for error in report.get("errors") or []
    ]
    return {**report, "errors": errors}


@bp.post("/records/<entity>/imports/<job_id>/dry-run")
def imports_dry_run(entity: str, job_id: str) -> Any:
    """Plan the import with the given options and write it all in a transaction rolled back: per-row errors.

    Up to ``checks.INLINE_UNITS`` records the report is the answer; a larger file is checked by the
    import worker in the background (202 and the job: follow it until it is ``checked``).
    """
    runtime = services().runtime()
    model = entity_model(runtime, entity)
    job = _own_job(entity, path_id(job_id))
    if checks.check_running(job, runtime.clock()):
        raise Conflict(f"the dry run of import {job['id']} is still running")
    options = parse_options(json_body(), model, targets(runtime.model, model), list(job["headers"]))
    with runtime.transaction(write=True) as conn:
        require(conn, runtime.resolve(actor(), conn), entity, "import")
        units = plan_job(conn, job["id"], options, model)
        background = len(units) > checks.INLINE_UNITS
        if background:
            checks.queue_check(conn, job["id"])
    if not background:
        return jsonify(_worded(dry_run(runtime, job["id"], actor())))
    kick(current_app)
    with runtime.transaction() as conn:
        return jsonify(_state(runtime, job_row(conn, job["id"]))), 202


@bp.post("/records/<entity>/imports/<job_id>/start")
def imports_start(entity: str, job_id: str) -> Any:
    """Run the dry-run import for real, in the background."""
    runtime = services().runtime()
    job = _own_job(entity, path_id(job_id))
    start(runtime, job["id"], actor())
    kick(current_app)
    with runtime.transaction() as conn:
        return jsonify(progress(job_row(conn, job["id"]), runtime.clock())), 202


@bp.get("/records/<entity>/imports/<job_id>/errors")
def imports_errors(entity: str, job_id: str) -> Any:
    """The error report: every failed or skipped row with its column and message (CSV)."""
    runtime = services().runtime()
    job = _own_job(entity, path_id(job_id))
    with runtime.transaction() as conn:
        errors = [{**e, "message": worded(str(e.get("message") or ""))} for e in error_rows(conn, job["id"])]
    text = "".join(error_csv(errors, ("row", "column", "status", "message")))
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="import-{job["id"]}-errors.csv"'
    return response


@bp.post("/records/<entity>/imports/<job_id>/undo")
def imports_undo(entity: str, job_id: str) -> Any:
    """Delete what the import created and restore what it updated (records changed since are left and listed)."""
    runtime = services().runtime()
    job = _own_job(entity, path_id(job_id))
    return jsonify(undo(runtime, job["id"], actor()))


def _own_job(entity: str, job_id: int) -> dict[str, Any]:
    # An import is seen by the user who uploaded it and by administrators.
    runtime = services().runtime()
    entity_model(runtime, entity)
    who = actor()
    with runtime.transaction() as conn:
        job = job_row(conn, job_id)
        require(conn, runtime.resolve(who, conn), entity, "import")
    if job["entity"] != entity:
        raise NotFound(f"import {job_id} does not exist")
    if job["created_by"] != who.user_id and not who.is_admin:
        raise AccessDenied(entity, "import", "this import belongs to another user")
    return job


_JOB = {"type": "object", "required": ["id", "status", "total", "done"]}
_ERRORS = ("403", "404", "422")
ENDPOINTS.update(
    {
        "imports_upload": {
            "summary": "Upload a CSV (any encoding) or XLSX file for import; returns the draft with a suggested mapping",
            "errors": ("403", "404", "409", "413", "422"),
            "request": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
            "request_type": "multipart/form-data",
            "responses": {"201": ("draft import", _JOB, "application/json")},
        },
        "imports_get": {
            "summary": "An import's status and progress (rows done, rows/s, time left); a finished background dry run's report",
            "errors": ("403", "404"),
            "responses": {"200": ("import", _JOB, "application/json")},
        },
        "imports_dry_run": {
            "summary": "Set the mapping and options and validate every row without writing anything "
            "(a large file: checked in the background, follow the import)",
            "errors": ("403", "404", "409", "422"),
            "request": {"type": "object"},
            "responses": {
                "200": ("dry-run report", {"type": "object"}, "application/json"),
                "202": ("checking in the background", _JOB, "application/json"),
            },
        },
        "imports_start": {
            "summary": "Run the import in the background",
            "errors": ("403", "404", "409"),
            "responses": {"202": ("queued", _JOB, "application/json")},
        },
        "imports_errors": {
            "summary": "Download the error report of an import (CSV)",
            "errors": ("403", "404"),
            "responses": {"200": ("CSV, UTF-8 with a BOM", {"type": "string"}, "text/csv")},
        },
        "imports_undo": {
            "summary": "Undo an import: delete what it created, restore what it updated",
            "errors": (*_ERRORS, "409"),
            "responses": {"200": ("undo report", {"type": "object"}, "application/json")},
        },
    }
)
