"""The ``crm`` command: database set-up, metadata publishing and files, users, tokens, the demo, serving."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask
from sqlalchemy import make_url, select
from sqlalchemy.exc import SQLAlchemyError

from crm_platform.auth.users import create_token, create_user, set_active, set_password
from crm_platform.cli_app import invocation_app
from crm_platform.cli_crypto import generate_key_command, rotate_key_command
from crm_platform.cli_imports import import_group
from crm_platform.cli_packs import pack
from crm_platform.cli_recompute import recompute_command
from crm_platform.cli_settings import settings_group
from crm_platform.i18n import LOCALES
from crm_platform.imports_worker import ImportWorker
from crm_platform.metafiles import MANIFEST, read_bundle, write_bundle
from crm_platform.plugins_cli import plugins_command
from crm_platform.services import CrmServices
from metamodel.definitions import DOCUMENT_KINDS, Bundle
from metamodel.diff import diff_bundles
from metamodel.errors import CrmError, MetadataInvalid, NotFound, SchemaChangeRefused
from metamodel.systables import physical_columns, physical_tables, users
from metamodel.versions import VersionInfo

CLI_USER = "cli"
DEBUG_ENV = "CRM_DEBUG"


class CliError(click.ClickException):
    """A failure reported as ``Error: message`` plus detail lines, with exit status 1."""

    exit_code = 1

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)

    def format_message(self) -> str:
        """Return the message followed by one indented line per detail."""
        return "\n".join([self.message, *(f"  {line}" for line in self.details)])


def _cli_error(exc: CrmError) -> CliError:
    details = [f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems]
    if isinstance(exc, SchemaChangeRefused):
        details += [
            f"record {json.dumps(r, ensure_ascii=False, default=str)}" for r in exc.extra.get("records", [])
        ]
    return CliError(exc.message, details)


class CrmGroup(click.Group):
    """A click group that turns expected errors into a message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, translating errors."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except CrmError as exc:
            raise _cli_error(exc) from None
        except SQLAlchemyError as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CliError(f"database error: {reason}", [f"database: {_database_label()}"]) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise CliError(
                f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)"
            ) from None


def _database_label() -> str:
    url = os.environ.get("CRM_DATABASE_URL")
    return (
        make_url(url).render_as_string(hide_password=True)
        if url
        else "the default SQLite file in the instance folder"
    )


def _app() -> Flask:
    """Return the app of this invocation, built once from the CRM_* environment."""
    return invocation_app()


def _svc() -> CrmServices:
    found: CrmServices = _app().extensions["crm"]
    return found


def _user_id(svc: CrmServices, username: str) -> int:
    with svc.engine.connect() as conn:
        found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if found is None:
        raise NotFound(f"no user '{username}'")
    return int(found)


def _echo_changes(title: str, changes: Sequence[str]) -> None:
    click.echo(f"{title}:" if changes else f"{title}: none")
    for change in changes:
        click.echo(f"  {change}")


def _doc_changes(before: Bundle, after: Bundle) -> list[str]:
    return [f"{c['change']} {c['kind']} {c['path']}" for c in diff_bundles(before, after)]


def _active_bundle(svc: CrmServices) -> Bundle:
    number = svc.metadata.active_version()
    return svc.metadata.bundle_of(number) if number is not None else Bundle()


def _publish(svc: CrmServices, user: str, comment: str) -> None:
    """Validate and publish the draft, printing the metadata and schema changes."""
    problems = svc.metadata.validate_draft()
    if problems:
        raise MetadataInvalid(f"the draft has {len(problems)} problem(s); nothing was published", problems)
    active = svc.metadata.active_version()
    changes = _doc_changes(_active_bundle(svc), svc.metadata.draft())
    if active is not None and not changes:
        click.echo(f"Nothing to publish: the draft equals the active version {active}.")
        return
    info = svc.metadata.publish(user, comment)
    click.echo(f"Published version {info.number}.")
    _echo_changes("Metadata changes", changes)
    _echo_changes("Schema changes", info.changes)


def _echo_version(info: VersionInfo) -> None:
    click.echo(f"Published version {info.number} ({info.action} by {info.created_by}): {info.comment}")
    _echo_changes("Schema changes", info.changes)


@click.group(cls=CrmGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Low-code CRM administration. Settings come from CRM_* environment variables (see README)."""


@cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the system tables."""
    from alembic.runtime.migration import MigrationContext

    svc = _svc()  # building the app runs the migrations
    with svc.engine.connect() as conn:
        heads = sorted(MigrationContext.configure(conn).get_current_heads())
    click.echo(f"Database ready: {_database_label()}")
    click.echo(f"System tables at revision {', '.join(heads) or '(none)'}.")


@cli.command()
@click.option("-m", "--message", "comment", default="", help="Why this version is published.")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the publisher.")
def publish(comment: str, user: str) -> None:
    """Validate the draft and publish it as a new version."""
    _publish(_svc(), user, comment)


@cli.command("export-meta")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "number", type=int, help="Export this version (default: the active one).")
@click.option("--draft", is_flag=True, help="Export the draft instead of a version.")
def export_meta(folder: Path, number: int | None, draft: bool) -> None:
    """Write metadata as FOLDER/<kind>/<name>.json files plus FOLDER/manifest.json."""
    if draft and number is not None:
        raise click.UsageError("use either --version or --draft, not both")
    svc = _svc()
    active = svc.metadata.active_version()
    if draft:
        bundle = svc.metadata.draft()
        manifest: dict[str, Any] = {"source": "draft", "version": None, "active_version": active}
    else:
        number = number if number is not None else active
        if number is None:
            raise CliError("nothing is published yet; export the draft with --draft")
        bundle = svc.metadata.bundle_of(number)
        info = next(v for v in svc.metadata.versions() if v.number == number)
        manifest = {
            "source": "version",
            "version": number,
            "active_version": active,
            "published_at": info.as_dict()["created_at"],
            "published_by": info.created_by,
            "comment": info.comment,
        }
    manifest["exported_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    written, removed = write_bundle(folder, bundle, manifest)
    what = "the draft" if draft else f"version {number}"
    click.echo(f"Exported {what}: {written} document(s) to {folder}")
    for path in removed:
        click.echo(f"  removed stale {path}")


@cli.command("import-meta")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--publish", "then_publish", is_flag=True, help="Publish the imported draft.")
@click.option("-m", "--message", "comment", default="", help="Comment of the published version.")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the editor and publisher.")
def import_meta(folder: Path, then_publish: bool, comment: str, user: str) -> None:
    """Replace the draft with the documents of FOLDER (as written by export-meta)."""
    _check_manifest(folder / MANIFEST)
    bundle = read_bundle(folder)
    svc = _svc()
    svc.metadata.replace_draft(bundle, user)
    counts = ", ".join(f"{kind}: {len(bundle.docs(kind))}" for kind in DOCUMENT_KINDS if bundle.docs(kind))
    click.echo(f"Draft replaced from {folder} ({counts}).")
    if then_publish:
        try:
            _publish(svc, user, comment or f"import from {folder.name}")
        except CrmError as exc:
            error = _cli_error(exc)
            error.details.append("(the draft now holds the imported files: fix them and import again)")
            raise error from None
    else:
        _echo_changes(
            "Draft changes against the active version",
            _doc_changes(_active_bundle(svc), svc.metadata.draft()),
        )
        click.echo("Run `crm publish` to validate and publish it.")


def _check_manifest(path: Path) -> None:
    if not path.exists():
        return
    try:
        json.loads(path.read_text("utf-8-sig"))
    except (ValueError, OSError) as exc:
        raise CliError(f"{path}: not a readable JSON manifest: {exc}") from None


@cli.command()
def versions() -> None:
    """List the published versions, newest first (* marks the active one)."""
    svc = _svc()
    active = svc.metadata.active_version()
    found = svc.metadata.versions()
    if not found:
        click.echo("No versions yet: edit the draft (or `crm import-meta`), then `crm publish`.")
        return
    click.echo(f"  {'#':>4}  {'published (UTC)':19}  {'by':12}  {'action':8}  comment")
    for v in found:
        mark = "*" if v.number == active else " "
        when = v.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        action = f"{v.action} {v.source_version}" if v.source_version is not None else v.action
        click.echo(f"{mark} {v.number:>4}  {when}  {(v.created_by or '-'):12}  {action:8}  {v.comment}")


@cli.command()
@click.argument("number", type=int)
@click.option("-m", "--message", "comment", default="", help="Why (default: 'rollback to version N').")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the publisher.")
def rollback(number: int, comment: str, user: str) -> None:
    """Publish the metadata of version NUMBER again as a new version; record data is kept."""
    _echo_version(_svc().metadata.rollback(number, user, comment))


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(yes: bool) -> None:
    """Drop the tables and columns of removed entities and fields for good (their data is lost)."""
    svc = _svc()
    with svc.engine.connect() as conn:
        tables = (
            conn.execute(select(physical_tables.c.table_name).where(physical_tables.c.status == "removed"))
            .scalars()
            .all()
        )
        columns = (
            conn.execute(select(physical_columns.c.column_name).where(physical_columns.c.status != "active"))
            .scalars()
            .all()
        )
    if not tables and not columns:
        click.echo("Nothing to purge: no removed entities or fields are kept.")
        return
    click.echo(f"Kept data of removed entities/fields: {len(tables)} table(s), {len(columns)} column(s).")
    if not yes:
        click.confirm("Drop them for good? Their data cannot be recovered", abort=True)
    _echo_changes("Purged", svc.metadata.purge())


_Command = TypeVar("_Command", bound=Callable[..., Any])


def _password_option(help_text: str) -> Callable[[_Command], _Command]:
    return click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help=help_text)


@cli.command("create-user")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Give the user administrator rights.")
@_password_option("The password (asked twice when not given).")
@click.option("--locale", type=click.Choice(LOCALES), default="en", show_default=True)
@click.option("--display-name", default="", help="Name shown in the UI (default: the username).")
def create_user_cmd(username: str, admin: bool, password: str, locale: str, display_name: str) -> None:
    """Create a user account."""
    user = create_user(
        _svc().engine, username, password, display_name=display_name, is_admin=admin, locale=locale
    )
    click.echo(f"Created {'administrator' if user.is_admin else 'user'} '{user.username}' (id {user.id}).")


@cli.command("set-password")
@click.argument("username")
@_password_option("The new password (asked twice when not given).")
def set_password_cmd(username: str, password: str) -> None:
    """Replace a user's password."""
    svc = _svc()
    _user_id(svc, username)
    set_password(svc.engine, username, password)
    click.echo(f"Password of '{username}' changed.")


@cli.command("set-active")
@click.argument("username")
@click.option("--on/--off", "active", required=True, help="Let USERNAME sign in again, or stop her now.")
def set_active_cmd(username: str, active: bool) -> None:
    """Activate or deactivate USERNAME; deactivating ends her sessions at once and stops her API tokens."""
    set_active(_svc().engine, username, active)
    click.echo(f"'{username}' is {'active' if active else 'deactivated; her sessions ended'}.")


@cli.command("unlock-user")
@click.argument("username")
def unlock_user_cmd(username: str) -> None:
    """Lift the sign-in lock that repeated failed attempts put on USERNAME."""
    from crm_platform.auth.signin import unlock

    svc = _svc()
    _user_id(svc, username)
    if unlock(svc.engine, username):
        click.echo(f"Unlocked '{username}': failed sign-ins forgotten.")
    else:
        click.echo(f"'{username}' was not locked and had no recent failed sign-ins.")


@cli.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(min=1), help="Expire after this many days (default: never).")
def create_token_cmd(username: str, name: str, days: int | None) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    svc = _svc()
    token = create_token(svc.engine, _user_id(svc, username), name, days)
    click.echo(token)
    expiry = f"expires in {days} day(s)" if days else "does not expire"
    click.echo(
        f"Token '{name}' for {username} {expiry}; it is shown only once. Send it as: Authorization: Bearer <token>",
        err=True,
    )


@cli.command()
def demo() -> None:
    """Load the demo CRM into an empty database and print its sign-in."""
    from crm_platform.demo import prepare_demo

    lines = prepare_demo(_app())
    if not lines:
        lines = ["The database already has its own metadata; the demo was not loaded."]
    for line in lines:
        click.echo(line)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")), help="Default: $PORT or 5000."
)
@click.option("--no-demo", is_flag=True, help="Do not load the demo into an empty database.")
def run(host: str, port: int, no_demo: bool) -> None:
    """Serve the app with the development server (like run.py)."""
    app = _app()
    if not no_demo:
        from crm_platform.demo import prepare_demo

        for line in prepare_demo(app):
            click.echo(line)
    from crm_platform.scheduling import start_in_app

    start_in_app(app)
    click.echo(f"CRM running on http://{host}:{port}/")
    app.run(host=host, port=port, debug=False, use_reloader=False)


@cli.command()
@click.option(
    "--interval", type=float, help="Seconds between ticks (default: $CRM_SCHEDULER_INTERVAL or 30)."
)
@click.option("--once", is_flag=True, help="Run one tick, print its report and exit.")
@click.option(
    "--at",
    "at",
    help="With --once: tick as if it were this ISO time (only where CRM_SCHEDULER_ALLOW_AT=1).",
)
def scheduler(interval: float | None, once: bool, at: str | None) -> None:
    """Run the dedicated scheduler process: time triggers, retries and outbox deliveries."""
    from crm_platform.startup import build_scheduler

    app = _app()
    service = build_scheduler(_svc(), app.config)
    if at is not None:
        moment = _scheduler_time(at, once, bool(app.config.get("CRM_SCHEDULER_ALLOW_AT")))
        service.clock = lambda: moment
    if interval is not None:
        if interval <= 0:
            raise click.BadParameter("must be more than 0", param_hint="--interval")
        service.interval = interval
    if once:
        click.echo(json.dumps(service.tick(), indent=2, default=str))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"scheduler running every {service.interval:g} s on {_database_label()}; Ctrl+C stops it")
    imports = ImportWorker(_svc())  # import jobs run in this process too
    imports.start()
    try:
        service.run_forever()
    finally:
        imports.stop()


def _scheduler_time(at: str, once: bool, allowed: bool) -> dt.datetime:
    if not allowed:
        raise click.UsageError(
            "--at is refused on this site: set CRM_SCHEDULER_ALLOW_AT=1 (staging and training sites only)"
        )
    if not once:
        raise click.BadParameter("needs --once", param_hint="--at")
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(
            "expected an ISO time, e.g. 2026-12-05T09:00:00+08:00", param_hint="--at"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


cli.add_command(generate_key_command)
cli.add_command(rotate_key_command)
cli.add_command(pack)
cli.add_command(import_group)
cli.add_command(recompute_command)
cli.add_command(settings_group)
cli.add_command(plugins_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crm`` command line; returns the exit status."""
    try:
        cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="crm", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
