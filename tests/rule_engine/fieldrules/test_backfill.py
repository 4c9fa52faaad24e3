"""A formula or roll-up added or changed by a publish is computed for the records that already exist."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.sqlvalue import to_sql_value
from rule_engine.fieldrules.backfill import job_row, pending_jobs
from rule_engine.fieldrules.backfills import PublishBackfill, run_pending
from rule_engine.fieldrules.compute import Calculator
from rule_engine.tables import rule_backfills
from rule_engine.testing.world import World, entity, make_world


def plain_shop(
    member_fields: list[dict[str, Any]] | None = None, purchase_fields: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "entity": {
            "member": entity("member", [{"name": "name", "type": "text"}, *(member_fields or [])]),
            "purchase": entity(
                "purchase",
                [
                    {"name": "member", "type": "link", "target": "member", "on_delete": "cascade"},
                    {"name": "amount", "type": "currency"},
                    {"name": "qty", "type": "integer"},
                    *(purchase_fields or []),
                ],
            ),
        }
    }


SPENT = {
    "name": "spent",
    "type": "currency",
    "rules": {"rollup": {"source": "purchase.member", "kind": "sum", "field": "amount"}},
}
BIG = {
    "name": "big",
    "type": "integer",
    "rules": {"rollup": {"source": "purchase.member", "kind": "count", "filter": "amount >= 100"}},
}
DOUBLE = {"name": "double", "type": "currency", "rules": {"formula": "spent * 2"}}
GROSS = {"name": "gross", "type": "currency", "rules": {"formula": "amount * qty * 1.125"}}


def seeded(db_url: str) -> tuple[World, list[int], list[int]]:
    world = make_world(db_url, plain_shop())
    rt = world.runtime()
    members = [rt.create("member", {"name": f"m{i}"})["id"] for i in range(3)]
    purchases = [
        rt.create("purchase", {"member": members[i % 2], "amount": str(amount), "qty": qty})["id"]
        for i, (amount, qty) in enumerate(
            [("10.01", 3), ("150", 1), ("0.05", None), ("99.99", 7), ("-3.33", 3)]
        )
    ]
    return world, members, purchases


def values(world: World, name: str, field: str) -> list[Any]:
    table = world.metadata.model().entity(name).table
    with world.db.connect() as conn:
        return [row[0] for row in conn.execute(select(table.c[field]).order_by(table.c.id))]


def test_publishing_new_formulas_and_roll_ups_computes_existing_records(db_url: str) -> None:
    world, members, _ = seeded(db_url)
    # Before: the new fields of existing records stayed empty until each record was saved again.
    world.publish(plain_shop([SPENT, BIG, DOUBLE], [GROSS]))
    assert values(world, "member", "spent") == [
        Decimal("-3.33") + Decimal("10.01") + Decimal("0.05"),
        Decimal("249.99"),
        Decimal("0.00"),
    ]
    assert values(world, "member", "big") == [0, 1, 0]
    assert values(world, "member", "double") == [Decimal("13.46"), Decimal("499.98"), Decimal("0.00")]
    assert values(world, "purchase", "gross") == [
        Decimal("33.78"),
        Decimal("168.75"),
        None,
        Decimal("787.42"),
        Decimal("-11.24"),
    ]
    with world.db.connect() as conn:
        jobs = conn.execute(select(rule_backfills).order_by(rule_backfills.c.id)).mappings().all()
    assert {(j["entity"], j["status"], j["done"]) for j in jobs} == {
        ("member", "done", 3),
        ("purchase", "done", 5),
    }
    # Records keep their versions: a backfill follows a metadata change, not an edit.
    assert world.runtime().get("member", members[0])["lock_version"] == 1
    # Changing a formula recomputes it (and only it and what reads it).
    changed = copy.deepcopy(DOUBLE)
    changed["rules"]["formula"] = "spent * 3"
    world.publish(plain_shop([SPENT, BIG, changed], [GROSS]))
    assert values(world, "member", "double") == [Decimal("20.19"), Decimal("749.97"), Decimal("0.00")]
    with world.db.connect() as conn:
        last = conn.execute(select(rule_backfills).order_by(rule_backfills.c.id.desc())).mappings().first()
    assert last is not None and (last["entity"], last["fields"]) == ("member", ["double"])


def test_large_tables_are_backfilled_in_resumable_batches_with_progress(db_url: str) -> None:
    world, _, purchases = seeded(db_url)
    listener = next(x for x in world.metadata.on_publish if isinstance(x, PublishBackfill))
    listener.inline_limit = 0  # every table counts as large here
    world.publish(plain_shop([SPENT], [GROSS]))
    assert values(world, "purchase", "gross") == [None] * 5
    site = world.metadata.model()
    functions = world.rules.functions
    with world.db.begin() as conn:
        (job,) = [j for j in pending_jobs(conn) if (job_row(conn, j) or {})["entity"] == "purchase"]
        from rule_engine.fieldrules.backfill import step
        from rule_engine.fieldrules.spec import site_rules

        expressions = shared_expressions(functions)
        assert not step(conn, site, site_rules(site, expressions), expressions, job, world.clock(), batch=2)
    # A worker stopped here: the job says how far it got, and the next run goes on from there.
    with world.db.connect() as conn:
        progress = job_row(conn, job) or {}
    assert (progress["status"], progress["done"], progress["total"], progress["last_id"]) == (
        "running",
        2,
        5,
        purchases[1],
    )
    assert values(world, "purchase", "gross")[:3] == [Decimal("33.78"), Decimal("168.75"), None]
    with world.db.begin() as conn:
        run_pending(conn, site, functions, world.clock(), budget=30)
    assert values(world, "purchase", "gross") == [
        Decimal("33.78"),
        Decimal("168.75"),
        None,
        Decimal("787.42"),
        Decimal("-11.24"),
    ]
    assert values(world, "member", "spent")[:2] == [Decimal("6.73"), Decimal("249.99")]
    with world.db.connect() as conn:
        assert pending_jobs(conn) == []


def test_sql_values_equal_the_evaluator(db_url: str) -> None:
    world, _, _ = seeded(db_url)
    site = world.metadata.model()
    model = site.entity("purchase")
    expressions = shared_expressions(world.rules.functions)
    texts = [
        "amount * qty * 1.125",
        "-amount * 0.125",
        "coalesce(qty, 10) * amount - 1",
        "if(amount >= 100, amount * 2, amount + 0.005)",
        "qty * 3 + 1",
    ]
    table = model.table
    calc_time = world.clock()
    with world.db.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
        for text in texts:
            compiled = expressions.compile(site, "purchase", text)
            sql = to_sql_value(compiled, model, 2, calc_time, site, conn.dialect.name)
            assert sql is not None, text
            got = [r[0] for r in conn.execute(select(sql).select_from(table).order_by(table.c.id))]
            calc = Calculator(expressions, site, "purchase", conn, calc_time)
            want = [calc.formula("amount", text, row) for row in rows]  # a currency field of scale 2
            got = [
                None
                if g is None
                else Decimal(g).scaleb(-2 if conn.dialect.name == "sqlite" else 0).quantize(Decimal("0.01"))
                for g in got
            ]
            assert got == want, text
        assert (
            to_sql_value(
                expressions.compile(site, "purchase", "amount / 3"), model, 2, calc_time, site, "sqlite"
            )
            is None
        )


def test_a_backfilled_value_that_does_not_fit_its_field_is_reported_not_stored(db_url: str) -> None:
    world, _, _ = seeded(db_url)
    huge = {"name": "huge", "type": "currency", "rules": {"formula": "amount * 10000000000000"}}
    vast = {"name": "vast", "type": "currency", "rules": {"formula": "amount * 100000000000000000"}}
    capped = {"name": "capped", "type": "integer", "max": 50, "rules": {"formula": "qty * 10"}}
    # Before: SQLite stored 150 * 10^13 as a float (or a capped value past max) and PostgreSQL failed
    # the whole job with "numeric field overflow" on every tick; now the set-based UPDATE steps aside
    # for the batch and the row-by-row path reports each value that does not fit and leaves it empty.
    world.publish(plain_shop(purchase_fields=[huge, vast, capped]))
    assert values(world, "purchase", "huge") == [
        Decimal("100100000000000.00"),
        None,
        Decimal("500000000000.00"),
        Decimal("999900000000000.00"),
        Decimal("-33300000000000.00"),
    ]
    assert values(world, "purchase", "vast") == [None] * 5  # past SQLite's 64-bit integers too
    assert values(world, "purchase", "capped") == [30, 10, None, None, 30]
    with world.db.connect() as conn:
        job = conn.execute(select(rule_backfills).order_by(rule_backfills.c.id.desc())).mappings().first()
    assert job is not None and job["status"] == "done"
    assert job["error"] == "purchase 4: capped the computed value must be at most 50"  # the first one
