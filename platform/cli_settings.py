"""``crm settings ...``: show the site settings and set the site's time zone (audited like the API)."""

from __future__ import annotations

import click
from sqlalchemy import select

from crm_platform.cli_app import invocation_app
from crm_platform.services import CrmServices
from crm_platform.timezones import change_site_settings, read_site_settings
from metamodel.records.hooks import Actor
from metamodel.sitesettings import TIME_ZONE, SiteSettings, zone_names
from metamodel.systables import users

CLI_USER = "cli"


def _svc() -> CrmServices:
    found: CrmServices = invocation_app().extensions["crm"]
    return found


def _actor(svc: CrmServices, username: str) -> Actor:
    with svc.engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    return Actor(int(user_id) if user_id is not None else None, username, True, origin="cli")


def _echo_zone(settings: SiteSettings) -> None:
    how = "set" if TIME_ZONE in settings.explicit else f"default for language {settings.language}"
    click.echo(f"time zone: {settings.time_zone} ({how})")


@click.group("settings")
def settings_group() -> None:
    """Show or change the site settings (language, time zone)."""


@settings_group.command("show")
def settings_show() -> None:
    """Print the site's language and time zone."""
    settings = read_site_settings(_svc().engine)
    click.echo(f"language: {settings.language}")
    _echo_zone(settings)


@settings_group.command("time-zone")
@click.argument("zone", required=False)
@click.option("--default", "to_default", is_flag=True, help="Go back to the language's default zone.")
@click.option("--list", "list_zones", is_flag=True, help="Print every time zone name and exit.")
@click.option("--user", default=CLI_USER, show_default=True, help="Recorded as the administrator.")
def settings_time_zone(zone: str | None, to_default: bool, list_zones: bool, user: str) -> None:
    """Print the site's time zone, or set it to ZONE (an IANA name such as Asia/Shanghai)."""
    svc = _svc()
    if list_zones:
        for name in zone_names():
            click.echo(name)
        return
    if zone is not None and to_default:
        raise click.UsageError("give a ZONE or --default, not both")
    if zone is None and not to_default:
        _echo_zone(read_site_settings(svc.engine))
        return
    settings = change_site_settings(svc.engine, {TIME_ZONE: None if to_default else zone}, _actor(svc, user))
    _echo_zone(settings)
