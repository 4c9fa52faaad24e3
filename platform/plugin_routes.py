"""Serving plugins' blueprints: API routes under /api/v1/plugins/<name>/, pages under /plugins/<name>/.

Plugin API routes sit in a blueprint made per app with the API's own sign-in, rate limit and token
scope check (a token needs the ``admin`` scope, as for every endpoint outside the core groups). A
blueprint whose name another plugin already uses is left out, and the plugin's status says so.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask

from crm_platform.api import common
from crm_platform.services import CrmServices

log = logging.getLogger("plugins")


def init_app(app: Flask) -> None:
    """Register the active plugins' blueprints on ``app`` (the app factory's one call)."""
    svc: CrmServices = app.extensions["crm"]
    plugins = svc.plugins
    parent = Blueprint("plugin_api", __name__, url_prefix="/api/v1/plugins")
    common.init_blueprint(parent)
    taken = set(app.blueprints)
    for api, (name, blueprint) in [(True, item) for item in plugins.api_blueprints] + [
        (False, item) for item in plugins.page_blueprints
    ]:
        key = f"plugin_api.{blueprint.name}" if api else blueprint.name
        if key in taken:
            status = plugins.status(name)
            message = f"blueprint '{blueprint.name}' is not served: the name is taken"
            if status is not None:
                status.error = message
            log.error("plugin %s: %s", name, message)
            continue
        taken.add(key)
        if api:
            parent.register_blueprint(blueprint, url_prefix=f"/{name}")
        else:
            app.register_blueprint(blueprint, url_prefix=f"/plugins/{name}")
    app.register_blueprint(parent)
