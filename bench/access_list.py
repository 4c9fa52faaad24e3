"""A 50-row list for a store-scoped user vs an administrator, on the same big entity, side by side.

The org tree is HQ -> 3 regions -> 12 stores; the records' 49 owners are spread over the stores.
The store manager's role reads the entity with the ``org_unit`` scope, so her list is the same
RecordRuntime.list call with the scope as one more WHERE predicate. Both sides run the common
list-view query (status = open, newest first, 50 rows) and the default list (newest first),
alternating, and the median ratio store/admin of each is reported.
"""

from __future__ import annotations

import time

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import END, ENTITY, bulk_load, load_accounts, publish_site
from metamodel.access import install_access_control
from metamodel.access.admin import AccessAdmin
from metamodel.records.hooks import Actor, RecordHooks
from metamodel.records.query import Filter, ListQuery
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users

TARGET_RATIO = 1.5
REGIONS, STORES_PER_REGION = 3, 4
OWNERS = 49  # bulk_load gives records owners 1..49
ROUNDS = 25
LIMIT = 50


def _org(admin: AccessAdmin) -> None:
    """Create the owners, the HQ -> region -> store tree, and put each owner in a store."""
    with admin.engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    "id": i,
                    "username": f"user{i}",
                    "password_hash": "x",
                    "display_name": f"User {i}",
                    "created_at": END,
                }
                for i in range(1, OWNERS + 1)
            ],
        )
    hq = admin.create_unit("hq")["id"]
    stores = []
    for r in range(REGIONS):
        region = admin.create_unit(f"region{r}", hq)["id"]
        stores += [admin.create_unit(f"store{r}_{s}", region)["id"] for s in range(STORES_PER_REGION)]
    for user_id in range(1, OWNERS + 1):
        admin.set_user_unit(user_id, stores[user_id % len(stores)])
    admin.create_role("store_manager")
    admin.grant("store_manager", ENTITY, "read", "org_unit")
    admin.assign_role(1, "store_manager")


def run(ctx: Context) -> list[Figure]:
    """Load ``ctx.records`` records and time a store manager's lists against an administrator's."""
    site = publish_site(ctx.db_url("access_list"))
    try:
        bulk_load(site, ctx.records, load_accounts(site))
        access = AccessAdmin(site.engine, lambda: END)
        _org(access)
        runtime = RecordRuntime(site.model(), site.engine, install_access_control(RecordHooks()), lambda: END)
        manager = Actor(user_id=1, username="user1")
        admin = Actor(user_id=None, username="admin", is_admin=True)
        queries = {
            "filtered": ListQuery(filters=[Filter("status", "eq", "open")], sort="-created_at", limit=LIMIT),
            "default": ListQuery(sort="-created_at", limit=LIMIT),
        }
        same_store = {u for u in range(1, OWNERS + 1) if u % (REGIONS * STORES_PER_REGION) == 1}
        for query in queries.values():  # correctness first: the manager sees only her store's owners
            page = runtime.list(ENTITY, query, manager)
            assert len(page.items) == LIMIT and {item["owner_id"] for item in page.items} <= same_store
        ratios: dict[str, list[float]] = {name: [] for name in queries}
        times: dict[str, list[float]] = {
            f"{name}.{side}": [] for name in queries for side in ("store", "admin")
        }
        with quiet_gc():
            for round_no in range(ROUNDS):
                for name, query in queries.items():
                    sides = [("store", manager), ("admin", admin)]
                    elapsed: dict[str, float] = {}
                    for side, actor in sides if round_no % 2 == 0 else reversed(sides):
                        started = time.perf_counter()
                        runtime.list(ENTITY, query, actor)
                        elapsed[side] = time.perf_counter() - started
                        times[f"{name}.{side}"].append(elapsed[side] * 1000)
                    ratios[name].append(elapsed["store"] / elapsed["admin"])
    finally:
        site.engine.dispose()
    figures = [
        Figure(f"access.list_{name}_store_vs_admin_ratio", round(median(values), 2), "x", TARGET_RATIO, "<=")
        for name, values in ratios.items()
    ]
    figures += [Figure(f"access.list_{key}", round(median(values), 2), "ms") for key, values in times.items()]
    return figures
