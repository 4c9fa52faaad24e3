"""Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from crm_platform import api, consistency, errors, headers, i18n, pages, plugin_routes, ratelimits
from crm_platform.auth import session
from crm_platform.config import load_settings
from crm_platform.startup import build_services


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__)
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    proxies = int(app.config.get("CRM_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind N reverse proxies the client address comes from X-Forwarded-For; trusted only then,
        # because a direct client could otherwise forge the address the audit log and rate limits use.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    build_services(app.config).init_app(app)
    errors.init_app(app)
    headers.init_app(app)  # CSP, nosniff, no framing, referrer policy
    i18n.init_app(app)
    session.init_app(app)
    pages.init_app(app)
    app.register_blueprint(api.bp)
    plugin_routes.init_app(app)  # plugins' API routes and pages
    # Every view runs again once after a metadata change; then the API's per-route limits wrap them.
    consistency.init_app(app)
    ratelimits.init_app(app, api.bp)
    return app
