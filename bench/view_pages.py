"""The list page and the kanban board page on N records (SQLite): server time of each page against the
bare SQL it issues, measured side by side in the same run.

Both pages are rendered through the whole app (session, access checks, field rules, presentation,
Jinja) with werkzeug's test client. While a page renders once, every SQL statement it sends is recorded
with its parameters; "bare" is replaying exactly those statements on a plain connection. Rounds alternate
page and bare; figures are medians. Targets: the page at most 1.5x its bare SQL and under 100 ms.

The board groups by status and sums amount (set in the entity's ``views``); an index on (status, amount)
lets the database count and sum a column from the index alone, as a site with a big board would add.
"""

from __future__ import annotations

import copy
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

RATIO_TARGET = 1.5
MS_TARGET = 100.0
PASSWORD = "ann-amber-kettle-42"
PAGES = {"list": f"/e/{ENTITY}", "board": f"/e/{ENTITY}/board"}


def _bundle() -> dict[str, Any]:
    bundle = copy.deepcopy(BUNDLE)
    deal = bundle["entity"][ENTITY]
    deal["indexes"] = [*deal["indexes"], {"fields": ["status", "amount"]}]
    deal["views"] = {"board": {"group_field": "status", "sum_field": "amount"}}
    return bundle


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records, then time both pages against their own SQL."""
    app = create_app(
        {
            "CRM_DATABASE_URL": ctx.db_url("view_pages"),
            "CRM_INSTANCE_DIR": str(ctx.workdir / "instance-views"),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / "attachments-views"),
            "SECRET_KEY": "bench",
            "CRM_SCHEDULER": "off",
            "CRM_ENCRYPTION": "off",
            "CRM_RATELIMIT": "100000/second",
        }
    )
    svc: CrmServices = app.extensions["crm"]
    try:
        svc.metadata.replace_draft(Bundle.from_json(_bundle()), "bench")
        svc.metadata.publish("bench", "view pages benchmark")
        site = Site(svc.engine, svc.metadata, svc.field_types)
        bulk_load(site, ctx.records, load_accounts(site))
        with svc.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # what a maintained site has: planner statistics
        create_user(svc.engine, "bench", PASSWORD, is_admin=True)
        client = signed_in(app)
        figures: list[Figure] = []
        for name, path in PAGES.items():
            figures += _measure(app, svc, client, name, path, 5 if ctx.quick else 9)
        return figures
    finally:
        svc.engine.dispose()


def signed_in(app: Flask) -> FlaskClient:
    """Return a test client signed in as the bench user."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the sign-in page has no CSRF token"
    answer = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def _measure(
    app: Flask, svc: CrmServices, client: FlaskClient, name: str, path: str, rounds: int
) -> list[Figure]:
    statements = recorded_sql(svc.engine, lambda: get_page(client, path))
    raw = svc.engine.raw_connection()

    def bare() -> None:
        cursor = raw.cursor()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        cursor.close()
        raw.rollback()

    def page() -> None:
        get_page(client, path)

    for _ in range(2):  # warm both: compiled-statement caches, the page cache of the database
        page()
        bare()
    page_s, bare_s = [], []
    with quiet_gc():
        for round_no in range(rounds):
            order = (
                ((page_s, page), (bare_s, bare)) if round_no % 2 == 0 else ((bare_s, bare), (page_s, page))
            )
            for timings, call in order:
                started = time.perf_counter()
                call()
                timings.append(time.perf_counter() - started)
    raw.close()
    page_ms, bare_ms = median(page_s) * 1000, median(bare_s) * 1000
    return [
        Figure(f"view_pages.{name}.page_ms", page_ms, "ms", MS_TARGET),
        Figure(f"view_pages.{name}.bare_sql_ms", bare_ms, "ms"),
        Figure(f"view_pages.{name}.vs_bare", page_ms / bare_ms, "x", RATIO_TARGET, "<="),
        Figure(f"view_pages.{name}.statements", float(len(statements)), "queries"),
    ]


def get_page(client: FlaskClient, path: str) -> None:
    """GET a page and insist on a 200."""
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:300]}")


def recorded_sql(engine: sa.Engine, call: Callable[[], None]) -> list[tuple[str, Any]]:
    """Return the (SQL, parameters) the call sends, in order, as the driver received them."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen
