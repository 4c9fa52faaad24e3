"""(i) The REST API's edge vs a bare Flask + SQLAlchemy endpoint: GET one record and a 50-row list.

Both apps run in this process and are called through their WSGI interface (werkzeug's test client),
so the figure is the per-request cost that decides a sync worker's throughput. Our side is the full
stack: token authentication, rate limiting (in memory), access control, field security, presentation.
The bare side reads the same table with a plain ``create_engine`` and returns ``jsonify`` of the rows.
Rounds alternate which side goes first; a figure is the median of bare time / our time (our share of
the bare endpoint's throughput). On SQLite always; on PostgreSQL when CRM_BENCH_PG_URL or the test
server (127.0.0.1:5432, database ``test``) answers, in a schema dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify
from flask.testing import FlaskClient

from bench.core import Context, Figure, median, quiet_gc
from bench.records_setup import BUNDLE, ENTITY, Site, bulk_load, load_accounts
from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.definitions import Bundle
from metamodel.identifiers import table_name

GET_TARGET = 0.70
LIST_TARGET = 0.60
RECORDS = 2_000
ROUNDS = 7
PG_URL = os.environ.get("CRM_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def run(ctx: Context) -> list[Figure]:
    """Measure GET one and list-of-50 ratios on SQLite, and on PostgreSQL when reachable."""
    count = 60 if ctx.quick else 200
    figures = _measure("sqlite", ctx.db_url("api_edge"), ctx, count)
    with _pg_schema() as url:
        if url is not None:
            figures += _measure("postgresql", url, ctx, count)
    return figures


def _measure(kind: str, url: str, ctx: Context, count: int) -> list[Figure]:
    ours, admin_token, record_id = _our_app(url, ctx)
    bare = _bare_app(url)
    try:
        headers = {"Authorization": f"Bearer {admin_token}"}
        ours_client, bare_client = ours.test_client(), bare.test_client()
        get_path, list_path = f"/api/v1/records/{ENTITY}/{record_id}", f"/api/v1/records/{ENTITY}?limit=50"
        cases = {
            "get_one": (
                lambda: _call(ours_client, get_path, headers),
                lambda: _call(bare_client, f"/one/{record_id}", {}),
            ),
            "list_50": (
                lambda: _call(ours_client, list_path, headers),
                lambda: _call(bare_client, "/list", {}),
            ),
        }
        figures = []
        for name, (our_call, bare_call) in cases.items():
            ratio, ours_rps, bare_rps = _ratio(our_call, bare_call, count)
            target = GET_TARGET if name == "get_one" else LIST_TARGET
            figures.append(Figure(f"api_edge.{kind}.{name}.ratio", ratio, "x bare", target, ">="))
            figures.append(Figure(f"api_edge.{kind}.{name}.ours", ours_rps, "req/s"))
            figures.append(Figure(f"api_edge.{kind}.{name}.bare", bare_rps, "req/s"))
        return figures
    finally:
        ours.extensions["crm"].engine.dispose()
        bare.extensions["bench_engine"].dispose()


def _call(client: FlaskClient, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:300]}")


def _ratio(ours: Callable[[], None], bare: Callable[[], None], count: int) -> tuple[float, float, float]:
    for _ in range(20):  # warm caches on both sides
        ours()
        bare()
    ratios, ours_times, bare_times = [], [], []
    for round_no in range(ROUNDS):
        order = (ours, bare) if round_no % 2 == 0 else (bare, ours)
        timed = {}
        for fn in order:
            with quiet_gc():
                started = time.perf_counter()
                for _ in range(count):
                    fn()
                timed[fn] = time.perf_counter() - started
        ours_times.append(timed[ours])
        bare_times.append(timed[bare])
        ratios.append(timed[bare] / timed[ours])
    return median(ratios), count / median(ours_times), count / median(bare_times)


def _our_app(url: str, ctx: Context) -> tuple[Flask, str, int]:
    app = create_app(
        {
            "CRM_DATABASE_URL": url,
            "CRM_INSTANCE_DIR": str(ctx.workdir / "instance"),
            "CRM_ATTACHMENT_DIR": str(ctx.workdir / "attachments"),
            "SECRET_KEY": "bench",
            "CRM_SCHEDULER": "off",
            "CRM_ENCRYPTION": "off",
            "CRM_RATELIMIT": "100000/second",
        }
    )
    svc: CrmServices = app.extensions["crm"]
    svc.metadata.replace_draft(Bundle.from_json(BUNDLE), "bench")
    svc.metadata.publish("bench", "api edge benchmark")
    site = Site(svc.engine, svc.metadata, svc.field_types)
    bulk_load(site, RECORDS, load_accounts(site, 100))
    admin = create_user(svc.engine, "bench", "bench-password-1", is_admin=True)
    token = create_token(svc.engine, admin.id, "bench")
    with svc.engine.connect() as conn:
        table = site.table()
        record_id = int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one()) // 2
    return app, token, record_id


def _bare_app(url: str) -> Flask:
    """What a developer would write by hand: one engine, one table, two endpoints."""
    app = Flask("bare")
    engine = sa.create_engine(url)
    table = sa.Table(table_name(ENTITY), sa.MetaData(), autoload_with=engine)
    app.extensions["bench_engine"] = engine
    by_id = sa.select(table).where(table.c.id == sa.bindparam("id"))
    page = sa.select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(50)

    @app.get("/one/<int:record_id>")
    def one(record_id: int) -> Any:
        with engine.connect() as conn:
            row = conn.execute(by_id, {"id": record_id}).mappings().first()
        return jsonify(dict(row)) if row else ("", 404)

    @app.get("/list")
    def many() -> Any:
        with engine.connect() as conn:
            rows = conn.execute(page).mappings().all()
        return jsonify({"items": [dict(row) for row in rows]})

    return app


@contextmanager
def _pg_schema() -> Iterator[str | None]:
    try:
        admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
        with admin.begin() as conn:
            schema = f"bench_{secrets.token_hex(4)}"
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception:  # no PostgreSQL here: SQLite figures only
        yield None
        return
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
