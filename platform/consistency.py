"""Requests that meet a metadata change, a dropped connection or a busy database: run again once, or 503.

Each transaction of the record runtime checks that the request's compiled metadata is the version the
transaction sees (``MetadataService.ensure_current``). When it is not, or a statement finds a column or
table that a publish or rollback just renamed or removed, nothing was written (the transaction rolled
back) and the view runs once more with the active version read afresh. A write lock that SQLite could
not get within its busy timeout, or a PostgreSQL deadlock or serialization failure, is a 503 with
Retry-After, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import DBAPIError

from crm_platform.errors import error_response
from crm_platform.i18n import t
from crm_platform.services import FRESH_MODEL
from metamodel.versions import ModelOutdated

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 1
# PostgreSQL: undefined column / table; SQLite says it in words.
_SCHEMA_STATES = ("42703", "42P01")
_SCHEMA_WORDS = ("no such column", "no such table", "has no column named")
# PostgreSQL: serialization failure, deadlock, lock not available; SQLite: busy.
_BUSY_STATES = ("40001", "40P01", "55P03")
_BUSY_WORDS = ("database is locked", "database table is locked")


class DatabaseBusy(Exception):
    """The database could not give this request its locks in time."""


def init_app(app: Flask) -> None:
    """Wrap every view of ``app`` (call after all blueprints are registered) and answer busy with 503."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = retrying(view)
    app.register_error_handler(DatabaseBusy, _busy)


def retrying(view: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``view`` run once more after a metadata change; busy database errors become DatabaseBusy."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return _busy_guarded(view, *args, **kwargs)
        except ModelOutdated:
            pass
        except DBAPIError as exc:
            # A connection the server dropped (restart, idle timeout): without a ping per checkout the
            # first use finds out; SQLAlchemy has emptied the pool, so the second try gets a fresh one.
            if not (exc.connection_invalidated or _matches(exc, _SCHEMA_STATES, _SCHEMA_WORDS)):
                raise
        log.info(
            "metadata or connection changed during %s %s: running it again", request.method, request.path
        )
        setattr(g, FRESH_MODEL, True)
        try:
            return _busy_guarded(view, *args, **kwargs)
        except ModelOutdated:
            raise DatabaseBusy("the metadata changed twice during the request") from None

    return wrapper


def _busy_guarded(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return view(*args, **kwargs)
    except DBAPIError as exc:
        if _matches(exc, _BUSY_STATES, _BUSY_WORDS):
            raise DatabaseBusy(str(exc.orig)[:200]) from exc
        raise


def _matches(exc: DBAPIError, states: tuple[str, ...], words: tuple[str, ...]) -> bool:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in states:
        return True
    text = str(exc.orig).lower()
    return any(word in text for word in words)


def _busy(exc: DatabaseBusy) -> Any:
    log.warning("database busy on %s %s: %s", request.method, request.path, exc)
    body, status = error_response(
        503, "busy", t("api.busy", seconds=RETRY_AFTER_SECONDS), retry_after=RETRY_AFTER_SECONDS
    )
    response = body if not isinstance(body, str) else None
    if response is None:
        return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status
