"""Importing 100,000 CSV rows through the record runtime (validation, permissions, an event trigger,
audit, the per-row ledger) vs a bulk INSERT of the same rows typed by hand, side by side.

The file has a link column given by the account's title, a select, a multi-select, dates, money and
a boolean; the event trigger runs its condition on every created record and sets a field on ~20%.
Both sides parse the same CSV text; the figure with a target is the runtime's rows per second.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bench.core import Context, Figure, quiet_gc
from bench.records_setup import BUNDLE, ENTITY, STATUSES, TAGS, Site, load_accounts
from crm_platform.app import create_app
from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.definitions import Bundle
from metamodel.imports.files import read_table
from metamodel.imports.jobs import claim_job, create_job, job_row, plan_job, queue_job
from metamodel.imports.mapping import auto_map, targets
from metamodel.imports.options import parse_options
from metamodel.imports.runner import run_job

ROWS = 100_000
TARGET_ROWS_PER_SECOND = 2_000
HEADER = [
    "name",
    "email",
    "phone",
    "status",
    "quantity",
    "amount",
    "close_date",
    "active",
    "tags",
    "account",
    "reference",
]
TRIGGER = {
    "name": "big_deal",
    "entity": ENTITY,
    "event": "create",
    "condition": "quantity >= 400",
    "actions": [{"type": "set_fields", "values": {"probability": 90}}],
}


def _csv(rows: int, accounts: int) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow(
            [
                f"Deal {i}",
                f"deal{i}@example.com",
                f"+49 30 {rng.randrange(1_000_000, 9_999_999)}",
                rng.choice(STATUSES),
                rng.randrange(1, 500),
                f"{rng.randrange(100, 100_000)}.{rng.randrange(0, 100):02d}",
                (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 365))).isoformat(),
                rng.choice(["yes", "no"]),
                ", ".join(rng.sample(TAGS, rng.randrange(0, 3))),
                f"Account {rng.randrange(accounts):04d}",
                f"REF-{i:07d}",
            ]
        )
    return out.getvalue().encode("utf-8")


def _site(ctx: Context, name: str) -> CrmServices:
    app = create_app(
        {
            "CRM_DATABASE_URL": ctx.db_url(name),
            "CRM_INSTANCE_DIR": str(ctx.workdir / name),
            "SECRET_KEY": "bench",
            "CRM_SCHEDULER": "off",
            "CRM_ENCRYPTION": "off",
        }
    )
    svc: CrmServices = app.extensions["crm"]
    bundle = {**BUNDLE, "trigger": {"big_deal": TRIGGER}}
    svc.metadata.replace_draft(Bundle.from_json(bundle), "bench")
    svc.metadata.publish("bench", "import benchmark")
    return svc


def _through_runtime(svc: CrmServices, data: bytes) -> tuple[float, float]:
    """Plan and run the import as the worker does; returns the seconds taken (wall clock, CPU)."""
    runtime = svc.runtime()
    model = runtime.model.entity(ENTITY)
    started, cpu_started = time.perf_counter(), time.process_time()
    table = read_table(data, "deals.csv")
    available = targets(runtime.model, model)
    options = parse_options({"mapping": auto_map(table.headers, available)}, model, available, table.headers)
    with write_transaction(svc.engine) as conn:
        job_id = create_job(conn, ENTITY, table, "deals.csv", None, svc.clock())
        plan_job(conn, job_id, options, model)
        queue_job(conn, job_id, svc.clock())
        assert claim_job(conn, "bench", svc.clock(), job_id) == job_id
    run_job(svc.runtime, job_id, "bench", size=500)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with svc.engine.connect() as conn:
        job = job_row(conn, job_id)
    assert job["status"] == "done" and job["counts"]["created"] == job["total"], job["counts"]
    return seconds, cpu


def _bulk(site: Site, data: bytes, accounts: list[int]) -> float:
    """What a hand-written loader does: parse, type each cell, executemany in one transaction."""
    started = time.perf_counter()
    by_title = {f"Account {i:04d}": account for i, account in enumerate(accounts)}
    table = site.table()
    now = dt.datetime.now(dt.UTC)
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    next(reader)
    rows: list[dict[str, Any]] = []
    for name, email, phone, status, qty, amount, close, active, tags, account, ref in reader:
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
        rows.append(
            {
                "name": name,
                "email": email,
                "phone": phone,
                "status": status,
                "quantity": int(qty),
                "amount": Decimal(amount),
                "close_date": dt.date.fromisoformat(close),
                "active": active == "yes",
                "tags": f"|{'|'.join(tag_list)}|" if tag_list else None,
                "account": by_title[account],
                "probability": Decimal(90) if int(qty) >= 400 else None,
                "reference": ref,
                "lock_version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    with site.engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(table.insert(), rows[start : start + 10_000])
    seconds = time.perf_counter() - started
    with site.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == len(rows)
    return seconds


def run(ctx: Context) -> list[Figure]:
    """Import ROWS rows both ways on two fresh SQLite sites; report rows/s and the ratio."""
    rows = min(ROWS, ctx.records)
    ours = _site(ctx, "imports_runtime")
    bare = _site(ctx, "imports_bulk")
    our_accounts = load_accounts(Site(ours.engine, ours.metadata, ours.field_types))
    bare_site = Site(bare.engine, bare.metadata, bare.field_types)
    bare_accounts = load_accounts(bare_site)
    data = _csv(rows, len(our_accounts))
    with quiet_gc():
        bulk_seconds = _bulk(bare_site, data, bare_accounts)
    with quiet_gc():
        our_seconds, our_cpu = _through_runtime(ours, data)
    ours.engine.dispose()
    bare.engine.dispose()
    return [
        Figure(
            f"imports: {rows:,} rows through the runtime (trigger on)",
            rows / our_seconds,
            "rows/s",
            TARGET_ROWS_PER_SECOND,
            ">=",
        ),
        # SQLite runs in-process: on a busy machine the CPU figure is what the wall figure would be idle.
        Figure(f"imports: {rows:,} rows through the runtime per CPU second", rows / our_cpu, "rows/s"),
        Figure(f"imports: {rows:,} rows by bulk INSERT", rows / bulk_seconds, "rows/s"),
        Figure("imports: bulk INSERT / runtime time ratio", our_seconds / bulk_seconds, "x"),
    ]
