"""Whose clock a request reads: the site's time zone (a site setting) and the signed-in user's own zone.

Datetimes are stored in UTC; pages show and read them in the user's zone, which is the site's zone until
she picks her own. Changing the site's zone is an administrator's act and is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_gmt, get_timezone_location
from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import Engine, update

from crm_platform.auditing import current_origin
from crm_platform.services import services, site_model
from form_renderer.formdata import FormReader
from form_renderer.presentation.moments import babel_locale
from metamodel.audit.log import write_for_actor
from metamodel.errors import Problem
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from metamodel.sitesettings import (
    TIME_ZONE,
    SettingsInvalid,
    SiteSettings,
    read_settings,
    store_settings,
    valid_zone_name,
    zone_names,
    zone_of,
)
from metamodel.systables import users

UTC = ZoneInfo("UTC")


def site_zone() -> ZoneInfo:
    """Return the site's time zone (read once per request)."""
    if has_request_context():
        cached = g.get("crm_site_zone")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    zone = site_model().time_zone
    if has_request_context():
        g.crm_site_zone = zone
    return zone


def user_zone() -> ZoneInfo:
    """Return the zone the signed-in user reads and types datetimes in: her own, else the site's."""
    own = getattr(current_user, "time_zone", None) if has_request_context() else None
    if own and valid_zone_name(own):
        return ZoneInfo(own)
    return site_zone()


def form_reader() -> FormReader:
    """Return how this request's forms are read: datetimes typed in the reader's zone."""
    return FormReader(services().presentations, user_zone())


def local_list_args(model: EntityModel, args: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Return list arguments with filter values read in the reader's zone (a datetime filtered by a day
    means her day), through each field's presentation; other arguments unchanged."""
    presentations, zone = services().presentations, user_zone()
    found: dict[str, list[str]] = {}
    for key, values in args.items():
        name, _, op = key.partition("__")
        definition = model.fields.get(name)
        if definition is None:
            found[key] = list(values)
            continue
        presentation = presentations.of(definition.type)
        found[key] = [presentation.filter_values(definition, op or "eq", str(v), zone) for v in values]
    return found


def zone_label(name: str, locale: str) -> str:
    """Return a zone as people pick it: ``(GMT+08:00) Shanghai · Asia/Shanghai``, in ``locale``."""
    return _labels(locale, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")).get(name, name)


def zone_choices(locale: str) -> list[tuple[str, str]]:
    """Return every zone as (IANA name, label), sorted by name (the picker searches both)."""
    labels = _labels(locale, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))
    return [(name, labels.get(name, name)) for name in zone_names()]


@lru_cache(maxsize=4)
def _labels(locale: str, day: str) -> dict[str, str]:
    # Offsets change with summer time: the labels are worked out once a day per language.
    where = babel_locale(locale)
    now = dt.datetime.now(dt.UTC)
    found = {}
    for name in zone_names():
        zone = zone_of(name)
        try:
            offset = str(get_timezone_gmt(now.astimezone(zone), "long", locale=where))
            city = str(get_timezone_location(zone, locale=where, return_city=True))
        except (LookupError, ValueError):  # a zone CLDR does not describe: its IANA name is enough
            city = ""
            offset = ""
        plain = name.rsplit("/", 1)[-1].replace("_", " ")
        place = f"{city} · " if city and city not in (plain, name) else ""
        found[name] = f"({offset}) {place}{name}" if offset else name
    return found


def read_site_settings(engine: Engine) -> SiteSettings:
    """Return the site's settings."""
    with engine.connect() as conn:
        return read_settings(conn)


def change_site_settings(engine: Engine, changes: dict[str, Any], actor: Actor) -> SiteSettings:
    """Store an administrator's change of the site settings and log it in the same transaction."""
    with engine.begin() as conn:
        before, after = store_settings(conn, changes, actor.username)
        changed = {
            key: [getattr(before, key), getattr(after, key)]
            for key in changes
            if getattr(before, key) != getattr(after, key) or key in before.explicit ^ after.explicit
        }
        if changed:
            summary = ", ".join(f"{key}: {old} -> {new}" for key, (old, new) in changed.items())
            write_for_actor(
                conn,
                "settings.change",
                actor,
                current_origin(),
                summary=f"site settings {summary}",
                changes=changed,
            )
    return after


def set_user_zone(user_id: int, name: str | None) -> str | None:
    """Store a user's own time zone (empty: follow the site's); SettingsInvalid for an unknown zone."""
    zone = None
    if name:
        zone = valid_zone_name(name)
        if zone is None:
            problem = Problem(TIME_ZONE, f"unknown time zone '{str(name)[:64]}'", "time_zone")
            raise SettingsInvalid("the time zone is not valid", [problem])
    with services().engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(time_zone=zone))
    return zone
