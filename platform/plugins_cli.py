"""``crm plugins``: the installed plugins with version, source, status and error."""

from __future__ import annotations

import json

import click

from crm_platform.services import CrmServices


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def plugins_command(as_json: bool) -> None:
    """List the plugins found: active, failed (and why), disabled or missing."""
    from crm_platform.cli import _app

    svc: CrmServices = _app().extensions["crm"]
    rows = [status.as_dict() for status in svc.plugins.statuses]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No plugins installed.")
        return
    for row in rows:
        line = f"{row['name']:<24} {row['version'] or '-':<10} {row['source']:<12} {row['status']}"
        if row["error"]:
            line += f"  {row['error']}"
        if row["hook_errors"]:
            line += f"  ({row['hook_errors']} hook error(s), last: {row['last_hook_error']})"
        click.echo(line)
