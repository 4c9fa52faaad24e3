"""A dashboard of 6 widgets on N records (SQLite), rendered server-side, against the sum of the bare data
queries its widgets issue, side by side in the same run.

The dashboard page and each of its six widget fragments are rendered through the whole app (session,
access checks, report parsing, labels, chart specs, Jinja) with werkzeug's test client, as the browser
loads them. While they render once, every SELECT sent to the records' tables (the widgets' GROUP BYs,
the number widgets' two periods, the short list and its link titles) is recorded with its parameters;
"bare" is replaying exactly those statements on a plain connection. Rounds alternate dashboard and bare;
figures are medians. Target: the dashboard at most 1.5x its bare queries.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ACCOUNT, BUNDLE, ENTITY, Site, bulk_load, load_accounts
from bench.view_pages import get_page, recorded_sql, signed_in
from crm_platform.app import create_app
from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.definitions import Bundle
from metamodel.sitesettings import write_settings

RATIO_TARGET = 1.5
BOARD = "bench_board"


def _report(name: str, query: dict[str, Any], chart: str = "bar") -> dict[str, Any]:
    return {"name": name, "entity": ENTITY, "query": query, "chart": {"type": chart}}


REPORTS = {
    "by_status_month": _report(
        "by_status_month",
        {
            "dimensions": ["status", {"field": "created_at", "bucket": "month"}],
            "measures": [{"function": "count"}, {"function": "sum", "field": "quantity"}],
        },
        "line",
    ),
    "by_active": _report(
        "by_active",
        {
            "dimensions": ["active"],
            "measures": [{"function": "count"}, {"function": "avg", "field": "amount"}],
        },
        "pie",
    ),
    "top_accounts": _report(
        "top_accounts",
        {"dimensions": ["account"], "measures": [{"function": "count"}], "sort": ["-count"], "limit": 10},
    ),
}
WIDGETS: list[dict[str, Any]] = [
    {"type": "number", "entity": ENTITY, "date_field": "last_contact", "period": "month"},
    {
        "type": "number",
        "entity": ENTITY,
        "measure": {"function": "sum", "field": "quantity"},
        "filters": [{"field": "status", "op": "eq", "value": "won"}],
        "date_field": "last_contact",
        "period": "quarter",
    },
    {"type": "report", "report": "by_status_month"},
    {"type": "report", "report": "by_active"},
    {"type": "report", "report": "top_accounts"},
    {
        "type": "list",
        "entity": ENTITY,
        "columns": ["name", "status", "account"],
        "filters": [{"field": "status", "op": "eq", "value": "open"}],
        "sort": "-created_at",
        "limit": 5,
    },
]


def _bundle() -> dict[str, Any]:
    bundle = copy.deepcopy(BUNDLE)
    bundle["report"] = copy.deepcopy(REPORTS)
    bundle["dashboard"] = {BOARD: {"name": BOARD, "label": {"en": "Bench"}, "widgets": WIDGETS}}
    return bundle


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records, then time the dashboard and its widgets against their data queries."""
    app = create_app(
        {
            "CRM_DATABASE_URL": ctx.db_url("dashboard"),
            "CRM_INSTANCE_DIR": str(ctx.workdir / "instance-dashboard"),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / "attachments-dashboard"),
            "SECRET_KEY": "bench",
            "CRM_SCHEDULER": "off",
            "CRM_ENCRYPTION": "off",
            "CRM_RATELIMIT": "100000/second",
        }
    )
    svc: CrmServices = app.extensions["crm"]
    try:
        svc.metadata.replace_draft(Bundle.from_json(_bundle()), "bench")
        svc.metadata.publish("bench", "dashboard benchmark")
        # Buckets and "this month" in the site's zone, as on a zh-CN site.
        write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "bench")
        site = Site(svc.engine, svc.metadata, svc.field_types)
        bulk_load(site, ctx.records, load_accounts(site))
        with svc.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # what a maintained site has: planner statistics
        create_user(svc.engine, "bench", "ann-amber-kettle-42", is_admin=True)
        return _measure(svc, signed_in(app), 3 if ctx.quick else 5)
    finally:
        svc.engine.dispose()


def _measure(svc: CrmServices, client: Any, rounds: int) -> list[Figure]:
    paths = [f"/dashboards/{BOARD}"] + [f"/dashboards/{BOARD}/widgets/{i}" for i in range(len(WIDGETS))]

    def dashboard() -> None:
        for path in paths:
            get_page(client, path)

    model = svc.metadata.model()
    tables = {model.entity(ENTITY).table.name, model.entity(ACCOUNT).table.name}
    statements = [
        (sql, params)
        for sql, params in recorded_sql(svc.engine, dashboard)
        if any(f"FROM {name}" in sql or f"JOIN {name}" in sql for name in tables)
    ]
    raw = svc.engine.raw_connection()

    def bare() -> None:
        cursor = raw.cursor()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        cursor.close()
        raw.rollback()

    dashboard()  # warm both: compiled-statement caches, the page cache of the database
    bare()
    board_s, bare_s = [], []
    with quiet_gc():
        for round_no in range(rounds):
            order = [(board_s, dashboard), (bare_s, bare)]
            for timings, call in order if round_no % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                call()
                timings.append(time.perf_counter() - started)
    raw.close()
    board_ms, bare_ms = median(board_s) * 1000, median(bare_s) * 1000
    return [
        Figure("dashboard.six_widgets_ms", board_ms, "ms"),
        Figure("dashboard.bare_queries_ms", bare_ms, "ms"),
        Figure("dashboard.vs_bare", board_ms / bare_ms, "x", RATIO_TARGET, "<="),
        Figure("dashboard.data_queries", float(len(statements)), "queries"),
    ]
