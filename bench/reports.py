"""Reports: a two-dimension GROUP BY (status x month of created_at) over N records through the runtime,
against the bare SQL it issues, side by side in the same run.

The runtime's cost over the bare statement is parsing the report, the permission check, building the
statement and shaping the rows; the database work is the same.  Target: <= 1.2x and under 1 s.
"""

from __future__ import annotations

import time

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ENTITY, bulk_load, load_accounts, publish_site
from metamodel.records.aggregate import build_statement, parse_aggregate
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
        with site.engine.connect() as conn:
            bare = build_statement(entity, site.registry, query, [], conn.dialect.name)
            compiled = bare.compile(conn, compile_kwargs={"literal_binds": True})
        sql = str(compiled)

        def through_runtime() -> int:
            return len(runtime.aggregate(ENTITY, parse_aggregate(entity, site.registry, SPEC)).rows)

        def bare_sql() -> int:
            with site.engine.connect() as conn:
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
