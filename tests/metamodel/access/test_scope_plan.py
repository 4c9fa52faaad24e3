"""A unit-scoped list is walked in its sort order's index, not fetched whole and sorted (SQLite's plan)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event

from metamodel.records.query import ListQuery
from tests.metamodel.access.accesssupport import make_shop
from tests.metamodel.mmsupport import Site


def test_unit_scoped_newest_first_list_walks_the_created_at_index(site: Site) -> None:
    shop = make_shop(site)
    hq = shop.admin.create_unit("hq")["id"]
    n1, n2 = shop.admin.create_unit("n1", hq)["id"], shop.admin.create_unit("n2", hq)["id"]
    shop.role("store_manager", ("deal", "read", "org_unit"))
    ann = shop.user("ann", unit=n1, roles=("store_manager",))
    sam = shop.user("sam", unit=n1)
    nora = shop.user("nora", unit=n2)
    owners = [ann, sam, nora, None]
    expected = []
    for number in range(24):
        site.clock.now += dt.timedelta(minutes=1)
        owner = owners[number % len(owners)]
        shop.deal(f"deal {number}", owner)
        if owner in (ann, sam):
            expected.append(f"deal {number}")

    statements: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if "ORDER BY" in statement and "rec_" in statement:
            statements.append((statement, parameters))

    event.listen(site.engine, "before_cursor_execute", capture)
    try:
        page = shop.runtime.list("deal", ListQuery(sort="-created_at", limit=5), shop.actor(ann))
    finally:
        event.remove(site.engine, "before_cursor_execute", capture)
    assert [item["title"] for item in page.items] == expected[::-1][:5]
    statement, parameters = statements[-1]
    if site.engine.dialect.name == "sqlite":
        assert "+rec_" in statement  # the unit's owner set is taken out of index selection
        with site.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            plan = " | ".join(row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters))
        assert "MULTI-INDEX OR" not in plan and "TEMP B-TREE" not in plan, plan
        assert "_created_at" in plan, plan
    else:
        # PostgreSQL keeps statistics and chooses the index itself: the condition is left as written.
        assert "+rec_" not in statement and "+ rec_" not in statement
