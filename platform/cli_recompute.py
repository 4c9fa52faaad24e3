"""``crm recompute ENTITY [FIELD...]``: compute formula and roll-up fields of every existing record again."""

from __future__ import annotations

import time

import click

from crm_platform.cli_app import invocation_app
from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.errors import NotFound, Problem, RecordInvalid
from metamodel.records.base import utcnow
from rule_engine.evaluation import shared_expressions
from rule_engine.fieldrules.backfill import job_row, step
from rule_engine.fieldrules.backfills import queue_recompute
from rule_engine.fieldrules.spec import site_rules


@click.command("recompute")
@click.argument("entity")
@click.argument("fields", nargs=-1)
@click.option(
    "--background", is_flag=True, help="Queue the job for the scheduler process instead of running it here."
)
@click.option("--batch", type=click.IntRange(1, 1_000_000), default=50_000, show_default=True)
def recompute_command(entity: str, fields: tuple[str, ...], background: bool, batch: int) -> None:
    """Compute formula and roll-up FIELDS (default: all of them) of every ENTITY record, with progress."""
    svc: CrmServices = invocation_app().extensions["crm"]
    site = svc.metadata.model()
    if entity not in site.entities:
        raise NotFound(f"no entity '{entity}'")
    expressions = shared_expressions(svc.rules.functions)
    rules = site_rules(site, expressions)
    derived = rules.of(entity).derived
    unknown = [name for name in fields if name not in derived]
    if unknown:
        problems = [Problem(name, "is not a formula or roll-up field", "not_derived") for name in unknown]
        raise RecordInvalid(f"{entity} has no formula or roll-up field {', '.join(unknown)}", problems)
    if not derived:
        raise RecordInvalid(f"{entity} has no formula or roll-up fields", [])
    names = list(fields) or sorted(derived)
    with write_transaction(svc.engine) as conn:
        job_id = queue_recompute(conn, site, svc.rules.functions, entity, names, utcnow(), "crm recompute")
        job = job_row(conn, job_id) or {}
    click.echo(
        f"recompute {job_id}: {entity} {', '.join(job.get('fields') or [])}, {job.get('total')} records"
    )
    if background:
        click.echo(f"recompute {job_id} queued for the scheduler")
        return
    started = time.monotonic()
    finished = False
    while not finished:
        with write_transaction(svc.engine) as conn:
            finished = step(conn, site, rules, expressions, job_id, utcnow(), batch)
            job = job_row(conn, job_id) or {}
        rate = int(job["done"]) / max(time.monotonic() - started, 1e-6)
        click.echo(f"  {job['done']}/{job['total']}, {rate:,.0f} records/s")
    if job.get("error"):
        click.echo(f"  some values could not be computed and were left empty: {job['error']}")
    click.echo(f"recompute {job_id} {job['status']}: {job['done']} records")
