"""Template globals of the app shell: sidebar groups, language links and flash toasts."""

from __future__ import annotations

from typing import Any

from flask import Flask, get_flashed_messages, request, url_for

from crm_platform.pages.inbox import unread_messages
from crm_platform.pages.nav import entity_group, icon_name, may_configure, nav_entity, navigation

ERROR_CATEGORIES = frozenset({"error", "danger", "warning"})


def lang_url(locale: str) -> str:
    """Return this page's URL in ``locale``, keeping its query (filters, sort, cursor)."""
    params: dict[str, Any] = {k: v for k, v in request.args.to_dict().items() if k != "lang"}
    params.update(request.view_args or {})
    params["lang"] = locale
    if request.endpoint and request.method == "GET" and request.url_rule is not None:
        try:
            return url_for(request.endpoint, **params)
        except Exception:  # a page whose URL cannot be rebuilt falls back to a plain link
            pass
    return f"?lang={locale}"


def toasts() -> list[dict[str, Any]]:
    """Return the flashed messages as toasts: errors stay until closed, the rest hide themselves."""
    found = []
    flashed: list[tuple[str, str]] = list(get_flashed_messages(with_categories=True))  # type: ignore[arg-type]
    for category, message in flashed:
        error = category in ERROR_CATEGORIES
        found.append({"text": message, "error": error, "kind": "danger" if error else "success"})
    return found


def safe_navigation() -> list[Any]:
    """Return the sidebar groups, or none when they cannot be read (an error page must still render)."""
    try:
        return navigation()
    except Exception:  # the 500 page is drawn while the database may be the problem
        return []


def safe_may_configure() -> bool:
    """Whether to offer the studio; False when it cannot be told (on the 500 page)."""
    try:
        return may_configure()
    except Exception:  # as above: the error page must render
        return False


def init_app(app: Flask) -> None:
    """Make the shell helpers available to every template."""
    app.jinja_env.globals.update(
        nav_groups=safe_navigation,
        nav_group_of=entity_group,
        nav_entity=nav_entity,
        lang_url=lang_url,
        toasts=toasts,
        tabler_icon=icon_name,
        may_configure=safe_may_configure,
        unread_messages=unread_messages,
    )
