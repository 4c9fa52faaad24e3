"""Site-wide settings an administrator changes at run time: the site's language and time zone.

One row per setting in ``sys_setting`` (migration 0010); an absent row means the default.  The time zone
defaults to Asia/Shanghai on a zh-CN site and to UTC otherwise: ``today()``, date fields, "N days after a
date", cron rules and date buckets use it, while datetimes stay stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import Column, Connection, Engine, String, Table, case, delete, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.coltypes import UTCDateTime
from metamodel.errors import CrmError, Problem
from metamodel.systables import system_metadata

settings_table = Table(
    "sys_setting",
    system_metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(80)),
)

LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
LANGUAGE = "language"
TIME_ZONE = "time_zone"
KEYS = (LANGUAGE, TIME_ZONE)
# A zh-CN site lives in China unless told otherwise; every other site starts in UTC.
DEFAULT_ZONES = {"zh-CN": "Asia/Shanghai"}
UTC = ZoneInfo("UTC")


class SettingsInvalid(CrmError):
    """A change of settings names an unknown setting, language or time zone."""

    code = "settings_invalid"
    status = 422


@dataclass(frozen=True)
class SiteSettings:
    """The effective settings and which of them an administrator set explicitly."""

    language: str = DEFAULT_LANGUAGE
    time_zone: str = "UTC"
    explicit: frozenset[str] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.time_zone)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as the API shows them."""
        return {
            LANGUAGE: self.language,
            TIME_ZONE: self.time_zone,
            "defaults": {TIME_ZONE: default_time_zone(self.language)},
            "explicit": sorted(self.explicit),
        }


def default_time_zone(language: str) -> str:
    """Return the time zone a site of ``language`` has until an administrator sets one."""
    return DEFAULT_ZONES.get(language, "UTC")


def zone_of(name: str | None) -> ZoneInfo:
    """Return the zone called ``name``, UTC when it is empty or unknown (a stale row never breaks a page)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def valid_zone_name(name: Any) -> str | None:
    """Return ``name`` when it names an IANA time zone (e.g. Asia/Shanghai), else None."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        return None
    text = name.strip()
    return text if text in _zone_names() else None


_ZONES: set[str] = set()


def _zone_names() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
        _ZONES.add("UTC")
    return _ZONES


def zone_names() -> list[str]:
    """Return every IANA time zone name, sorted (for pickers)."""
    return sorted(_zone_names())


def effective_zone_sql() -> ColumnElement[Any]:
    """SQL of the effective time zone name: the explicit setting, else the language's default."""
    explicit = select(settings_table.c.value).where(settings_table.c.key == TIME_ZONE).scalar_subquery()
    language = select(settings_table.c.value).where(settings_table.c.key == LANGUAGE).scalar_subquery()
    fallback = case(
        *((language == code, literal(zone)) for code, zone in DEFAULT_ZONES.items()), else_=literal("UTC")
    )
    return func.coalesce(explicit, fallback)


def site_zone(conn: Connection) -> ZoneInfo:
    """Return the site's effective time zone, read in the caller's transaction (one small query)."""
    return zone_of(conn.execute(select(effective_zone_sql())).scalar())


def read_settings(conn: Connection) -> SiteSettings:
    """Return the site's settings (defaults for those never set)."""
    stored = {str(row.key): str(row.value) for row in conn.execute(select(settings_table))}
    language = stored.get(LANGUAGE) if stored.get(LANGUAGE) in LANGUAGES else DEFAULT_LANGUAGE
    zone = stored.get(TIME_ZONE) or default_time_zone(str(language))
    return SiteSettings(str(language), zone_of(zone).key, frozenset(k for k in stored if k in KEYS))


def check_settings(changes: dict[str, Any]) -> list[Problem]:
    """Return the problems of a change of settings (unknown keys, languages or time zones)."""
    problems: list[Problem] = []
    for key, value in changes.items():
        if key not in KEYS:
            problems.append(Problem(f"settings.{key}", f"unknown setting '{key}'", "unknown"))
        elif value is None or value == "":
            continue  # back to the default
        elif key == LANGUAGE and value not in LANGUAGES:
            problems.append(Problem("settings.language", f"use one of {', '.join(LANGUAGES)}", "language"))
        elif key == TIME_ZONE and valid_zone_name(value) is None:
            problems.append(Problem("settings.time_zone", f"unknown time zone '{value}'", "time_zone"))
    return problems


def write_settings(engine: Engine, changes: dict[str, Any], by: str | None) -> SiteSettings:
    """Store ``changes`` (an empty value restores the default) and return the new settings."""
    with engine.begin() as conn:
        return store_settings(conn, changes, by)[1]


def store_settings(
    conn: Connection, changes: dict[str, Any], by: str | None
) -> tuple[SiteSettings, SiteSettings]:
    """Store ``changes`` in the caller's transaction; return the settings (before, after).

    SettingsInvalid names every bad key or value; nothing is stored then.
    """
    problems = check_settings(changes)
    if problems:
        raise SettingsInvalid("the settings are not valid", problems)
    before = read_settings(conn)
    now = dt.datetime.now(dt.UTC)
    for key, value in changes.items():
        conn.execute(delete(settings_table).where(settings_table.c.key == key))
        if value is not None and value != "":
            text = valid_zone_name(value) if key == TIME_ZONE else str(value)
            conn.execute(settings_table.insert().values(key=key, value=text, updated_at=now, updated_by=by))
    return before, read_settings(conn)
