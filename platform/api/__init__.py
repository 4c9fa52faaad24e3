"""The REST API under /api/v1: metadata, records, attachments, tokens and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from crm_platform.api import (  # noqa: E402,F401  (routes register on import)
    access,
    attachments,
    audit,
    common,
    dashboards,
    exports,
    fieldsecurity,
    imports,
    meta,
    openapi,
    ops,
    packs,
    plugins,
    pool,
    records,
    reports,
    ruleerrors,
    rules,
    savedviews,
    settings,
    tokens,
    users,
    workflow,
)

common.init_blueprint(bp)

__all__ = ["bp"]
