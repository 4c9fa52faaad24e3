"""Flask application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from crm_platform import api, errors, i18n, pages, plugin_routes
from crm_platform.auth import session
from crm_platform.config import load_settings
from crm_platform.startup import build_services


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__)
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    build_services(app.config).init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    session.init_app(app)
    pages.init_app(app)
    app.register_blueprint(api.bp)
    plugin_routes.init_app(app)  # plugins' API routes and pages
    return app
