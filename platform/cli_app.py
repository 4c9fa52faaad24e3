"""The app of one ``crm`` invocation, shared by every command module."""

from __future__ import annotations

import click
from flask import Flask

from crm_platform.app import create_app


def invocation_app() -> Flask:
    """Return the app of this invocation, built once from the CRM_* environment."""
    root = click.get_current_context().find_root()
    app: Flask | None = root.meta.get("crm.app")
    if app is None:
        app = create_app()
        root.meta["crm.app"] = app
        root.call_on_close(app.extensions["crm"].engine.dispose)
    return app
