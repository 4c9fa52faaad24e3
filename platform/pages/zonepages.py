"""Time zone pages: the site's zone in the studio (administrators, audited) and each user's own zone.

Both offer a searchable picker of every IANA zone (Tom Select over a plain select, so it works without
script too); an unknown zone is refused with a translated message next to the picker and nothing changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm_platform.i18n import current_locale, t
from crm_platform.pages.studioadmin import admin_page
from crm_platform.services import services
from crm_platform.timezones import (
    change_site_settings,
    read_site_settings,
    set_user_zone,
    site_zone,
    zone_choices,
    zone_label,
)
from form_renderer.presentation.moments import long_text
from metamodel.sitesettings import TIME_ZONE, SettingsInvalid, default_time_zone, zone_of

bp = Blueprint("settings", __name__)  # /studio/settings, registered under the studio's prefix
account_bp = Blueprint("account", __name__)


def _clock(name: str) -> str:
    """Return the present moment in zone ``name`` as the reader writes it (what the picker would show)."""
    return long_text(dt.datetime.now(dt.UTC), current_locale(), zone_of(name))


@bp.get("/settings")
@admin_page
def site() -> Any:
    """The site's settings: its time zone."""
    return _site_page()


@bp.post("/settings")
@admin_page
def site_save() -> Any:
    """Set the site's time zone (empty: the language's default) and log the change."""
    chosen = request.form.get(TIME_ZONE, "")[:80]
    try:
        change_site_settings(services().engine, {TIME_ZONE: chosen or None}, current_user.actor())
    except SettingsInvalid:
        return _site_page(422, error=t("zone.unknown", zone=chosen), chosen=chosen)
    flash(t("zone.site_saved", zone=chosen or t("zone.default_short")))
    return redirect(url_for("studio.settings.site"))


def _site_page(status: int = 200, error: str = "", chosen: str | None = None) -> Any:
    settings = read_site_settings(services().engine)
    explicit = TIME_ZONE in settings.explicit
    selected = chosen if chosen is not None else (settings.time_zone if explicit else "")
    default = default_time_zone(settings.language)
    return render_template(
        "settings/site.html",
        section="settings",
        settings=settings,
        selected=selected,
        zone_error=error,
        zones=zone_choices(current_locale()),
        default_label=zone_label(default, current_locale()),
        current_label=zone_label(settings.time_zone, current_locale()),
        now_text=_clock(settings.time_zone),
        locale=current_locale(),
    ), status


@account_bp.get("/account/preferences")
@login_required
def preferences() -> Any:
    """The signed-in user's preferences: the time zone she reads and types dates and times in."""
    return _preferences_page()


@account_bp.post("/account/preferences")
@login_required
def preferences_save() -> Any:
    """Set her own time zone (empty: follow the site's)."""
    chosen = request.form.get(TIME_ZONE, "")[:80]
    try:
        set_user_zone(int(current_user.id), chosen or None)
    except SettingsInvalid:
        return _preferences_page(422, error=t("zone.unknown", zone=chosen), chosen=chosen)
    flash(t("zone.own_saved"))
    return redirect(url_for("account.preferences"))


def _preferences_page(status: int = 200, error: str = "", chosen: str | None = None) -> Any:
    own = getattr(current_user, "time_zone", None) or ""
    selected = chosen if chosen is not None else own
    site_name = site_zone().key
    shown = zone_of(own or site_name).key
    return render_template(
        "settings/preferences.html",
        selected=selected,
        zone_error=error,
        zones=zone_choices(current_locale()),
        site_label=zone_label(site_name, current_locale()),
        current_label=zone_label(shown, current_locale()),
        now_text=_clock(shown),
    ), status
