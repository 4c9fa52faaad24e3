"""Global search (``/search``'s engine) on N records against the bare SQL it issues, side by side.

``search_entities`` runs the runtime's scoped list query with ``q`` per entity; the bare figure
replays exactly the statements it sent (captured from the engine) on a plain connection.  Two
texts: a common word (the first page fills after a short walk from the newest row) and a rare one
(one matching record, so the database reads every row: the worst case of a substring search).

The search is a substring match (``lower(col) LIKE '%text%'``), which no B-tree index serves; the
rare-text figure shows what an index (SQLite FTS5 with the trigram tokenizer, PostgreSQL pg_trgm)
would have to buy.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ENTITY, bulk_load, load_accounts, publish_site
from metamodel.records.globalsearch import search_entities
from metamodel.records.runtime import RecordRuntime

TARGET_MS = 100.0
RATIO_TARGET = 1.5
COMMON = "pilot"


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records, then time a common and a rare search through the runtime and bare."""
    site = publish_site(ctx.db_url("global_search"))
    try:
        bulk_load(site, ctx.records, load_accounts(site))
        runtime = RecordRuntime(site.model(), site.engine)
        rare = f"#{ctx.records // 2}"  # the name of exactly one record (and of those whose number starts so)
        figures: list[Figure] = []
        for label, text in (("common", COMMON), ("rare", rare)):
            statements = _captured(site.engine, lambda t=text: search_entities(runtime, [ENTITY], t))
            hits = search_entities(runtime, [ENTITY], text)
            assert hits and hits[0].items, f"no hit for {text!r}"

            def bare(sent: list[tuple[str, Any]] = statements) -> None:
                with site.engine.connect() as conn:
                    for sql, params in sent:
                        conn.exec_driver_sql(sql, params).all()

            def through_runtime(t: str = text) -> None:
                search_entities(runtime, [ENTITY], t)

            runtime_ms, bare_ms = [], []
            with quiet_gc():
                for _ in range(5 if ctx.quick else 9):
                    for timings, call in ((runtime_ms, through_runtime), (bare_ms, bare)):
                        started = time.perf_counter()
                        call()
                        timings.append((time.perf_counter() - started) * 1000)
            r, b = median(runtime_ms), median(bare_ms)
            figures += [
                Figure(f"global_search.{label}.runtime_ms", round(r, 2), "ms", TARGET_MS),
                Figure(f"global_search.{label}.bare_sql_ms", round(b, 2), "ms"),
                Figure(f"global_search.{label}.vs_bare", round(r / b, 2), "x", RATIO_TARGET, "<="),
            ]
        return figures
    finally:
        site.engine.dispose()


def _captured(engine: Any, call: Any) -> list[tuple[str, Any]]:
    """Run ``call`` and return the statements (with their parameters) it sent to the database."""
    sent: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return [(sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]
