"""Reports: a two-dimension GROUP BY (status x month of created_at) over N records through the runtime,
against the bare SQL it issues, side by side in the same run.

The runtime's cost over the bare statement is parsing the report, the permission check, building the
statement and shaping the rows; the database work is the same.  Target: <= 1.2x and under 1 s.
"""

from __future__ import annotations

import time

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ENTITY, bulk_load, load_accounts, publish_site
from metamodel.records.aggregate import bucket_spans, build_statement, parse_aggregate
from metamodel.records.runtime import RecordRuntime

SPEC = {
    "dimensions": ["status", {"field": "created_at", "bucket": "month"}],
    "measures": [{"function": "count"}, {"function": "sum", "field": "quantity"}],
    "time_zone": "Asia/Shanghai",
}
RATIO_TARGET = 1.2
SECONDS_TARGET = 1.0


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records, then time the report through the runtime and its bare SQL."""
    site = publish_site(ctx.db_url("reports"))
    try:
        bulk_load(site, ctx.records, load_accounts(site))
        model = site.model()
        runtime = RecordRuntime(model, site.engine)
        entity = model.entity(ENTITY)
        query = parse_aggregate(entity, site.registry, SPEC)
        # The runtime issues two statements: the bucketed column's range (two index seeks), then the GROUP BY
        # comparing with the month starts found in it. The bare SQL replays both, as text.
        with site.engine.connect() as conn:
            spans = bucket_spans(conn, entity, query)
            bare = build_statement(entity, site.registry, query, [], conn.dialect.name, spans)
            sql = str(bare.compile(conn, compile_kwargs={"literal_binds": True}))
        table, column = entity.table.name, "created_at"
        probe = f"SELECT (SELECT min({column}) FROM {table}), (SELECT max({column}) FROM {table})"
        print(f"   bare SQL: {probe};\n   {sql}", flush=True)

        def through_runtime() -> int:
            return len(runtime.aggregate(ENTITY, parse_aggregate(entity, site.registry, SPEC)).rows)

        def bare_sql() -> int:
            with site.engine.connect() as conn:
                conn.exec_driver_sql(probe).one()
                return len(conn.exec_driver_sql(sql).all())

        # Same answer first: the bare SQL's groups are the runtime's.
        assert through_runtime() == bare_sql() > 0
        runtime_s, bare_s = [], []
        with quiet_gc():
            for _ in range(3 if ctx.quick else 5):
                for timings, call in ((runtime_s, through_runtime), (bare_s, bare_sql)):
                    started = time.perf_counter()
                    call()
                    timings.append(time.perf_counter() - started)
        runtime_median, bare_median = median(runtime_s), median(bare_s)
        return [
            Figure("report_group_by_runtime_s", runtime_median, "s", SECONDS_TARGET),
            Figure("report_group_by_bare_sql_s", bare_median, "s"),
            Figure("report_group_by_vs_bare", runtime_median / bare_median, "x", RATIO_TARGET, "<="),
        ]
    finally:
        site.engine.dispose()
