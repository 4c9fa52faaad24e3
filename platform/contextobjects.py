"""The current request, app and ``g`` themselves, fetched once instead of through a proxy per use.

Each use of Flask's ``request``, ``g`` or ``current_app`` resolves a context-local proxy: about a
microsecond each, and the 47 proxy look-ups of a one-record API GET were a sixth of its time
(bench/api_edge.py). Code on every request's path fetches the real object once with these instead.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, current_app, g, request


def real_request() -> Request:
    """Return the current request itself (not its proxy)."""
    found: Request = request._get_current_object()  # type: ignore[attr-defined]
    return found


def real_app() -> Flask:
    """Return the current app itself (not its proxy)."""
    found: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return found


def request_globals() -> Any:
    """Return the current app context's ``g`` itself (not its proxy)."""
    return g._get_current_object()
