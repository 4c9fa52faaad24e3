"""Error responses: JSON with a stable code under /api, a friendly page elsewhere; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm_platform.problemwords import worded, worded_details
from metamodel.crypto.keyring import KeyringError
from metamodel.errors import CrmError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """Whether the error should be answered in JSON."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, **extra: Any) -> Any:
    """Return a JSON error body ``{"error": {code, message, ...}}`` or an error page."""
    if wants_json():
        return jsonify({"error": {"code": code, "message": message, **extra}}), status
    return render_template("error.html", status=status, code=code, message=message), status


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CrmError)
    def _crm_error(exc: CrmError) -> Any:
        body = exc.as_dict()
        body["message"] = worded(str(body["message"]))
        if "details" in body:
            body["details"] = worded_details(body["details"])
        return error_response(exc.status, body.pop("code"), body.pop("message"), **body)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        return error_response(
            400,
            "csrf_failed",
            "the form's security token is missing or expired; reload the page and try again",
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(KeyringError)
    def _keyring_error(exc: KeyringError) -> Any:
        # A configuration problem (a key removed too early, a wrong key): say so, never show values.
        log.error("encrypted values could not be read on %s %s: %s", request.method, request.path, exc)
        return error_response(500, "encryption_error", f"stored encrypted values cannot be read: {exc}")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
