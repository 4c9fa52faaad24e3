"""Flask application factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from crm_platform import api, consistency, errors, headers, i18n, pages, plugin_routes, ratelimits
from crm_platform.auth import session
from crm_platform.config import load_settings
from crm_platform.startup import build_services


class CrmFlask(Flask):
    """Flask, which asks once per view or hook, not on every call, whether it is a coroutine function.

    Flask runs ``inspect.iscoroutinefunction`` on each view and each before/after/teardown hook of
    every request: a dozen calls, 2 % of a one-record GET (bench/api_edge.py).
    """

    _SYNC_CACHE_SIZE = 4096  # after_this_request functions are new on each request: bound the memory

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` as Flask would (wrapped when it is a coroutine function), remembered."""
        found = self._sync.get(func)
        if found is None:
            if len(self._sync) >= self._SYNC_CACHE_SIZE:
                self._sync.clear()
            found = self._sync[func] = super().ensure_sync(func)
        return found


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; ``config`` overrides settings read from the environment."""
    app = CrmFlask(__name__)
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
