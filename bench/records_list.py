"""(a) Listing a big entity through RecordRuntime.list: first page and a deep keyset page.

The query is the common list-view one: an indexed filter (status = open) sorted by -created_at,
50 rows a page.  The deep page starts at a cursor ~80% into the filtered set; the same page fetched
with OFFSET is reported for contrast (it has to walk past every earlier row).
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import ENTITY, bulk_load, load_accounts, publish_site
from metamodel.records.query import Filter, ListQuery, encode_cursor, lookup_field
from metamodel.records.runtime import Page, RecordRuntime

TARGET_MS = 50.0
LIMIT = 50
STATUS = "open"
DEPTH = 0.8


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records and time the first page, a deep keyset page and its OFFSET twin."""
    site = publish_site(ctx.db_url("records_list"))
    try:
        started = time.perf_counter()
        bulk_load(site, ctx.records, load_accounts(site))
        load_s = time.perf_counter() - started
        model = site.model()
        runtime = RecordRuntime(model, site.engine)
        entity = model.entity(ENTITY)
        table = entity.table
        status = Filter("status", "eq", STATUS)

        # The row ~80% down the filtered set, straight from SQL; the cursor points just after it.
        with site.engine.connect() as conn:
            matching = conn.execute(
                select(func.count()).select_from(table).where(table.c.status == STATUS)
            ).scalar_one()
            position = int(matching * DEPTH)
            created_at, row_id = conn.execute(
                select(table.c.created_at, table.c.id)
                .where(table.c.status == STATUS)
                .order_by(table.c.created_at.desc(), table.c.id.desc())
                .offset(position)
                .limit(1)
            ).one()
        definition, field_type = lookup_field(entity, site.registry, "created_at")
        deep_cursor = encode_cursor(field_type, definition, created_at, row_id)

        first = ListQuery(filters=[status], sort="-created_at", limit=LIMIT)
        deep = ListQuery(filters=[status], sort="-created_at", limit=LIMIT, cursor=deep_cursor)
        by_offset = ListQuery(filters=[status], sort="-created_at", limit=LIMIT, offset=position + 1)

        # Correctness before speed: following next_cursor continues the list, and the keyset page
        # equals the OFFSET page.
        page = runtime.list(ENTITY, first)
        assert len(page.items) == LIMIT and page.next_cursor, "first page is short"
        second = runtime.list(
            ENTITY, ListQuery(filters=[status], sort="-created_at", limit=LIMIT, cursor=page.next_cursor)
        )
        expected = runtime.list(
            ENTITY, ListQuery(filters=[status], sort="-created_at", limit=LIMIT, offset=LIMIT)
        )
        assert _ids(second) == _ids(expected), "next_cursor does not continue the list"
        assert _ids(runtime.list(ENTITY, deep)) == _ids(runtime.list(ENTITY, by_offset)), (
            "the deep keyset page differs from the OFFSET page"
        )
        assert all(item["status"] == STATUS for item in page.items)

        repeats = 15 if ctx.quick else 25
        timings: dict[str, list[float]] = {"first": [], "deep": [], "offset": []}
        queries = {"first": first, "deep": deep, "offset": by_offset}
        with quiet_gc():
            for _ in range(repeats):  # interleaved, so drift on a noisy machine hits all three alike
                for key, query in queries.items():
                    started = time.perf_counter()
                    runtime.list(ENTITY, query)
                    timings[key].append((time.perf_counter() - started) * 1000)
    finally:
        site.engine.dispose()

    def ms(key: str) -> float:
        return round(median(timings[key]), 2)

    return [
        Figure("records.list.first_page", ms("first"), "ms", TARGET_MS),
        Figure("records.list.deep_keyset_page", ms("deep"), "ms", TARGET_MS),
        Figure("records.list.deep_offset_page", ms("offset"), "ms", None),
        Figure("records.list.filtered_rows", float(matching), "rows", None),
        Figure("records.list.bulk_load", round(load_s, 1), "s", None),
    ]


def _ids(page: Page) -> list[int]:
    return [item["id"] for item in page.items]
