"""``crm pack ...``: validate, install, upgrade, uninstall, export and list industry packs."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import select

from crm_platform.auth.passwords import check_password_policy, hash_password
from crm_platform.cli_app import invocation_app
from crm_platform.services import CrmServices
from industry_templates.export import export_pack
from industry_templates.installer import PackInvalid, bundled_packs, install_pack, validate_pack
from industry_templates.uninstall import pack_rows, uninstall_pack
from industry_templates.upgrade import upgrade_pack
from metamodel.records.hooks import Actor
from metamodel.systables import users

CLI_USER = "cli"
PASSWORD_ENV = "CRM_DEMO_PASSWORD"
PACK_HELP = "A bundled pack's name (see `crm pack list`) or a pack folder."


def _svc() -> CrmServices:
    # Shares the app of the invocation with the other commands.
    found: CrmServices = invocation_app().extensions["crm"]
    return found


def _actor(svc: CrmServices, username: str) -> Actor:
    with svc.engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    return Actor(int(user_id) if user_id is not None else None, username, True, origin="cli")


def _echo_list(title: str, lines: list[str]) -> None:
    click.echo(f"{title}:" if lines else f"{title}: none")
    for line in lines:
        click.echo(f"  {line}")


@click.group("pack")
def pack() -> None:
    """Industry packs: ready-made metadata, roles, translations and sample data."""


@pack.command("validate")
@click.argument("source", metavar="PACK")
def validate(source: str) -> None:
    """Check a pack's files, dependencies and metadata against this site; prints each problem."""
    problems = validate_pack(source, _svc())
    if problems:
        raise PackInvalid(f"{source}: {len(problems)} problem(s)", problems)
    click.echo(f"{source}: valid")


@pack.command("install")
@click.argument("source", metavar="PACK")
@click.option(
    "--with-sample-data", is_flag=True, help="Also create the sample org units, demo users and records."
)
@click.option(
    "--demo-password",
    default=None,
    help=f"Password of the demo users (default: ${PASSWORD_ENV}; none: they cannot sign in).",
)
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the installer.")
def install(source: str, with_sample_data: bool, demo_password: str | None, user: str) -> None:
    """Install a pack (all or nothing)."""
    svc = _svc()
    password = demo_password or os.environ.get(PASSWORD_ENV)
    if password:
        check_password_policy(password, "")
    report = install_pack(
        svc,
        source,
        with_sample_data=with_sample_data,
        actor=_actor(svc, user),
        password_hash=hash_password(password) if password and with_sample_data else None,
    )
    click.echo(
        f"Installed pack {report.name} {report.version} as metadata version {report.metadata_version}."
    )
    click.echo(f"Roles: {', '.join(report.roles) or 'none'}")
    if with_sample_data:
        click.echo(
            f"Sample data: {report.units} org unit(s), {report.users} user(s), {report.records} record(s)."
        )
        if report.users and not password:
            click.echo(
                f"The demo users have no password; set one with `crm set-password NAME` (or use --demo-password / ${PASSWORD_ENV})."
            )
    _echo_list("Schema changes", report.changes)


@pack.command("upgrade")
@click.argument("source", metavar="PACK")
@click.option("--dry-run", is_flag=True, help="Show what would change and the conflicts; write nothing.")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the publisher.")
def upgrade(source: str, dry_run: bool, user: str) -> None:
    """Upgrade an installed pack to a newer version, keeping the site's own changes."""
    svc = _svc()
    report = upgrade_pack(svc, source, dry_run=dry_run, actor=_actor(svc, user))
    verb = "Would upgrade" if dry_run else "Upgraded"
    click.echo(
        f"{verb} pack {report.name} {report.from_version} -> {report.to_version} (metadata version {report.metadata_version})."
    )
    _echo_list("Pack changes applied", report.applied)
    _echo_list(
        "Conflicts (the site's value is kept)",
        [
            f"{c['path']}: site={c['site']!r} pack={c['pack']!r}"
            for c in (x.as_dict() for x in report.conflicts)
        ],
    )
    _echo_list("Schema changes", report.changes)


@pack.command("uninstall")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also drop the pack's record tables for good.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the publisher.")
def uninstall(name: str, purge: bool, yes: bool, user: str) -> None:
    """Remove a pack's entities, forms, workflows and triggers; records are kept unless --purge."""
    if purge and not yes:
        click.confirm(f"Drop the records of pack '{name}' for good? They cannot be recovered", abort=True)
    svc = _svc()
    report = uninstall_pack(svc, name, purge=purge, actor=_actor(svc, user))
    kept = "records dropped" if purge else "records kept; installing it again brings them back"
    click.echo(f"Uninstalled pack {report.name} {report.version} ({kept}).")
    _echo_list("Removed documents", report.removed)
    _echo_list("Schema changes", report.changes)


@pack.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", required=True, help="The new pack's name (lowercase letters, digits, _).")
@click.option("--version", "version", default="1.0.0", show_default=True, help="MAJOR.MINOR.PATCH")
@click.option("--label-en", default=None, help="English label (default: the name).")
@click.option("--label-zh", default=None, help="Chinese label (default: the name).")
def export(folder: Path, name: str, version: str, label_en: str | None, label_zh: str | None) -> None:
    """Write the active metadata and the roles as a pack folder."""
    label = {k: v for k, v in (("en", label_en), ("zh-CN", label_zh)) if v}
    files = export_pack(_svc(), folder, name=name, version=version, label=label)
    click.echo(f"Exported pack {name} {version} to {folder} ({len(files)} files).")


@pack.command("list")
def list_packs() -> None:
    """List the installed packs and the bundled ones."""
    rows = pack_rows(_svc())
    click.echo("Installed packs:" if rows else "Installed packs: none")
    for row in rows:
        state = "" if row["status"] == "installed" else " (uninstalled, records kept)"
        click.echo(f"  {row['name']} {row['version']}{state}: {', '.join(row['entities'])}")
    _echo_list("Bundled packs", bundled_packs())
