"""``crm import ...``: import a CSV or XLSX file from the command line, follow an import's progress, undo one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from sqlalchemy import select

from crm_platform.cli_app import invocation_app
from crm_platform.imports_worker import ImportWorker
from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.errors import NotFound
from metamodel.imports.files import read_table
from metamodel.imports.jobs import create_job, job_row, plan_job, progress
from metamodel.imports.mapping import auto_map, targets
from metamodel.imports.options import parse_options
from metamodel.imports.report import error_csv, error_rows
from metamodel.imports.runner import dry_run, start
from metamodel.imports.undo import undo
from metamodel.records.hooks import Actor
from metamodel.systables import users


def _svc() -> CrmServices:
    found: CrmServices = invocation_app().extensions["crm"]
    return found


def _actor(svc: CrmServices, username: str | None) -> Actor:
    # Without --user the command runs as the system, like the other administration commands.
    if username is None:
        return Actor(origin="cli")
    with svc.engine.connect() as conn:
        row = conn.execute(select(users.c.id, users.c.is_admin).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"no user '{username}'")
    return Actor(int(row.id), username, bool(row.is_admin), origin="cli")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not left.strip():
            raise click.BadParameter(f"'{value}' is not COLUMN=FIELD", param_hint=option)
        found[left.strip()] = right.strip()
    return found


@click.group("import")
def import_group() -> None:
    """Import CSV or XLSX files into an entity, follow imports, undo them."""


@import_group.command("file")
@click.argument("entity")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", help="Import as this user (her permissions apply); default: the system.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    help="COLUMN=FIELD (repeatable); other columns are matched by name or label.",
)
@click.option(
    "--mode", type=click.Choice(["insert", "update", "upsert"]), default="insert", show_default=True
)
@click.option(
    "--key", "keys", multiple=True, help="Key field matching rows to each other and to stored records."
)
@click.option(
    "--duplicates", type=click.Choice(["skip", "update", "merge"]), default="skip", show_default=True
)
@click.option("--parent-key", help="Column whose equal values make one record with child lines.")
@click.option(
    "--link-key",
    "link_keys",
    multiple=True,
    help="LINK_FIELD=TARGET_FIELD: match links by that field, not the title.",
)
@click.option("--encoding", help="The CSV file's encoding (default: detected; e.g. gbk, utf-8).")
@click.option(
    "--skip-triggers",
    is_flag=True,
    help="Fire no event triggers (a migration; audited, administrators only).",
)
@click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
@click.option(
    "--background",
    is_flag=True,
    help="Queue the import for the scheduler process instead of running it here.",
)
@click.option("--progress", "show_progress", is_flag=True, help="Print the progress while the import runs.")
def import_file(
    entity: str,
    path: Path,
    user: str | None,
    mapping: tuple[str, ...],
    mode: str,
    keys: tuple[str, ...],
    duplicates: str,
    parent_key: str | None,
    link_keys: tuple[str, ...],
    encoding: str | None,
    skip_triggers: bool,
    dry_run: bool,
    background: bool,
    show_progress: bool,
) -> None:
    """Import PATH into ENTITY: a dry run first (errors listed), then the run."""
    svc = _svc()
    runtime = svc.runtime()
    model = runtime.model.entity(entity)
    who = _actor(svc, user)
    table = read_table(path.read_bytes(), path.name, encoding)
    available = targets(runtime.model, model)
    chosen = {**auto_map(table.headers, available), **_pairs(mapping, "--map")}
    raw = {
        "mapping": chosen,
        "mode": mode,
        "key_fields": list(keys),
        "duplicates": duplicates,
        "parent_key": parent_key,
        "link_keys": _pairs(link_keys, "--link-key"),
        "skip_triggers": skip_triggers,
    }
    options = parse_options(raw, model, available, table.headers)
    with write_transaction(svc.engine) as conn:
        job_id = create_job(conn, entity, table, path.name, who.user_id, runtime.clock())
        plan_job(conn, job_id, options, model)
    click.echo(f"import {job_id}: {path.name} ({table.encoding or 'xlsx'}), {len(table.rows)} rows")
    report = _dry_run(svc, job_id, who)
    if dry_run:
        return
    start(runtime, job_id, who)
    if background:
        click.echo(f"import {job_id} queued: follow it with `crm import status {job_id} --progress`")
        return
    _follow(svc, job_id, show_progress, run_here=True)
    if report["error_count"]:
        click.echo(f"the error report: `crm import errors {job_id}`")


def _dry_run(svc: CrmServices, job_id: int, who: Actor) -> dict[str, object]:
    report = dry_run(svc.runtime(), job_id, who)
    click.echo("dry run: " + ", ".join(f"{n} {k}" for k, n in dict(report["counts"]).items()))
    for error in report["errors"]:
        click.echo(f"  row {error['row']}, {error['column'] or '-'}: {error['message']}")
    return report


@import_group.command("status")
@click.argument("job_id", type=int)
@click.option("--progress", "show_progress", is_flag=True, help="Follow the import until it ends.")
@click.option("--run", "run_here", is_flag=True, help="Run (or resume) the import in this process.")
def import_status(job_id: int, show_progress: bool, run_here: bool) -> None:
    """Show an import's progress (as JSON without --progress)."""
    svc = _svc()
    if not show_progress and not run_here:
        with svc.engine.connect() as conn:
            click.echo(json.dumps(progress(job_row(conn, job_id), svc.clock()), indent=2, default=str))
        return
    _follow(svc, job_id, show_progress, run_here)


def _follow(svc: CrmServices, job_id: int, show_progress: bool, run_here: bool) -> None:
    worker = ImportWorker(svc)
    while True:
        if run_here:
            worker.run_pending(job_id)
        with svc.engine.connect() as conn:
            state = progress(job_row(conn, job_id), svc.clock())
        if show_progress:
            click.echo(_line(state))
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(1)
    click.echo(
        f"import {job_id} {state['status']}: " + ", ".join(f"{n} {k}" for k, n in state["counts"].items())
    )


def _line(state: dict[str, object]) -> str:
    rate, eta = state["rows_per_second"], state["eta_seconds"]
    text = f"{state['done']}/{state['total']} ({state['percent']}%)"
    if rate is not None:
        text += f", {rate} rows/s, {eta} s left"
    return text


@import_group.command("errors")
@click.argument("job_id", type=int)
def import_errors(job_id: int) -> None:
    """Print an import's error report (CSV)."""
    svc = _svc()
    with svc.engine.connect() as conn:
        job_row(conn, job_id)
        errors = error_rows(conn, job_id)
    for text in error_csv(errors, ("row", "column", "status", "message")):
        click.echo(text.lstrip("\ufeff"), nl=False)


@import_group.command("undo")
@click.argument("job_id", type=int)
@click.option("--user", help="Undo as this user; default: the system.")
def import_undo(job_id: int, user: str | None) -> None:
    """Delete what an import created and restore what it updated (records changed since are kept and listed)."""
    svc = _svc()
    report = undo(svc.runtime(), job_id, _actor(svc, user))
    click.echo(f"import {job_id} undone: {report['deleted']} deleted, {report['restored']} restored")
    for item in report["changed"] + report["failed"]:
        click.echo(f"  #{item['record_id']}: {item['message']}")
