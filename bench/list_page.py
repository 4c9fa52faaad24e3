"""The workspace list page on N records (SQLite): server time of its first page against the bare SQL it issues.

Our side is a GET of ``/e/bench_deal`` through the app's WSGI interface (werkzeug's test client), signed
in as an administrator: session check, query parsing, the runtime's list (keyset first page of 50, the
total counted up to the 100,000 cap and shown as "more than" above it), link titles, presentations and
the Jinja page with its toolbar. The bare side replays, on one raw DBAPI connection, exactly the SQL
statements that request issued (captured with a cursor-execute listener), fetching every row. Rounds
alternate which side goes first; figures are medians. Two lists: the default one (newest first) and a
filtered one (status is open, newest first).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import BUNDLE, ENTITY, Site, bulk_load, load_accounts
from crm_platform.app import create_app
from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.definitions import Bundle

TARGET_RATIO = 1.5
TARGET_MS = 100.0
ROUNDS = 9
PASSWORD = "ann-amber-kettle-42"
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
PAGES = {"default": f"/e/{ENTITY}", "filtered": f"/e/{ENTITY}?status=open"}


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records and time the list page's first page against its bare SQL."""
    app = _app(ctx)
    try:
        client = _signed_in(app)
        engine = app.extensions["crm"].engine
        figures = []
        for name, path in PAGES.items():
            statements = _captured(engine, lambda p=path: _get(client, p))  # type: ignore[misc]
            ours, bare = _timed(lambda p=path: _get(client, p), lambda s=statements: _replay(engine, s))  # type: ignore[misc]
            figures += [
                Figure(f"list_page.{name}.ours", ours * 1000, "ms", TARGET_MS),
                Figure(f"list_page.{name}.bare_sql", bare * 1000, "ms"),
                Figure(f"list_page.{name}.ratio", ours / bare, "x bare SQL", TARGET_RATIO, "<="),
                Figure(f"list_page.{name}.statements", len(statements), "SQL statements"),
            ]
        return figures
    finally:
        app.extensions["crm"].engine.dispose()


def _app(ctx: Context) -> Flask:
    app = create_app(
        {
            "CRM_DATABASE_URL": ctx.db_url("list_page"),
            "CRM_INSTANCE_DIR": str(ctx.workdir / "instance-list"),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / "attachments-list"),
            "SECRET_KEY": "bench",
            "CRM_SCHEDULER": "off",
            "CRM_ENCRYPTION": "off",
            "CRM_RATELIMIT": "100000/second",
        }
    )
    svc: CrmServices = app.extensions["crm"]
    svc.metadata.replace_draft(Bundle.from_json(BUNDLE), "bench")
    svc.metadata.publish("bench", "list page benchmark")
    site = Site(svc.engine, svc.metadata, svc.field_types)
    bulk_load(site, ctx.records, load_accounts(site))
    with svc.engine.begin() as conn:  # SQLite plans better with statistics, as a real site has them
        conn.exec_driver_sql("ANALYZE")
    create_user(svc.engine, "bench", PASSWORD, is_admin=True)
    return app


def _signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    token = found.group(1) if found else ""
    answer = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return client


def _get(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:300]}")


def _captured(engine: sa.Engine, call: Callable[[], None]) -> list[tuple[str, Any]]:
    """Return the SQL statements (with their parameters) one call issues."""
    call()  # warm: compiled-statement caches, templates
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    return seen


def _replay(engine: sa.Engine, statements: list[tuple[str, Any]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
                continue  # the raw connection runs its own transaction
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
        cursor.close()
        raw.rollback()
    finally:
        raw.close()


def _timed(ours: Callable[[], None], bare: Callable[[], None]) -> tuple[float, float]:
    for _ in range(3):
        ours()
        bare()
    times: dict[Callable[[], None], list[float]] = {ours: [], bare: []}
    for round_no in range(ROUNDS):
        for fn in (ours, bare) if round_no % 2 == 0 else (bare, ours):
            with quiet_gc():
                started = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - started)
    return median(times[ours]), median(times[bare])
