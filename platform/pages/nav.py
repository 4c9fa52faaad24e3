"""The app shell's navigation: the entities a user may read, grouped by the pack that brought them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask import g
from flask_login import current_user
from sqlalchemy import Connection

from crm_platform.i18n import current_locale, t
from crm_platform.services import services
from industry_templates.store import installed_packs
from metamodel.access import AccessDenied
from metamodel.access.enforcement import require_configure
from metamodel.access.grants import Grants, bypasses, resolve_actor
from metamodel.model import EntityModel

DEFAULT_ICON = "database"
# Metadata icons follow the common Feather/Lucide names; Tabler spells a few differently.
ICON_ALIASES = {
    "check-square": "square-check",
    "graduation-cap": "school",
    "megaphone": "speakerphone",
    "shop": "building-store",
    "settings-2": "settings",
}
_ICON_CSS = Path(__file__).parent.parent / "static" / "vendor" / "tabler-icons" / "tabler-icons.min.css"


@cache
def _known_icons() -> frozenset[str]:
    """Return the icon names the vendored Tabler Icons webfont has."""
    try:
        text = _ICON_CSS.read_text("utf-8")
    except OSError:
        return frozenset()
    return frozenset(re.findall(r"\.ti-([a-z0-9-]+):before", text))


def icon_name(name: str | None) -> str:
    """Return the Tabler icon for a metadata icon name, or a neutral default when there is none."""
    wanted = ICON_ALIASES.get(name or "", name or "")
    return wanted if wanted and wanted in _known_icons() else DEFAULT_ICON


@dataclass
class NavEntity:
    """One entity in the sidebar."""

    name: str
    label: str
    icon: str


@dataclass
class NavGroup:
    """A pack (or the site's own entities) and its readable entities."""

    key: str
    label: str
    entities: list[NavEntity] = field(default_factory=list)


def may_read(grants: Any, entity: str) -> bool:
    """Whether a resolved actor's grants open the entity's list (read, or the lead pool's claim)."""
    if not isinstance(grants, Grants) or not grants.enforced:
        return True
    return bool(grants.scopes(entity, "read") or grants.scopes(entity, "claim"))


def readable_entities(conn: Connection) -> list[EntityModel]:
    """Return the top-level entities the signed-in user may open, in metadata order."""
    site = services().metadata.model()
    actor = current_user.actor()
    if not bypasses(actor):
        actor = resolve_actor(actor, conn)
    grants = None if bypasses(actor) else actor.grants
    return [m for m in site.entities.values() if not m.entity.is_child and may_read(grants, m.name)]


def _groups(conn: Connection, models: list[EntityModel], locale: str) -> list[NavGroup]:
    owner: dict[str, NavGroup] = {}
    groups: list[NavGroup] = []
    for name, pack in sorted(installed_packs(conn).items()):
        labels = pack.manifest.get("label") or {}
        group = NavGroup(name, str(labels.get(locale) or labels.get("en") or name))
        groups.append(group)
        for entity in pack.entities():
            owner.setdefault(entity, group)
    own = NavGroup("", t("nav.general"))
    for model in models:
        item = NavEntity(model.name, model.entity.label(locale), icon_name(model.entity.doc.get("icon")))
        owner.get(model.name, own).entities.append(item)
    return [gr for gr in [own, *groups] if gr.entities]


def navigation() -> list[NavGroup]:
    """Return the sidebar groups of this request's user (computed once per request)."""
    cached = g.get("crm_nav")
    if cached is not None:
        return list(cached)
    if not getattr(current_user, "is_authenticated", False):
        return []
    with services().engine.connect() as conn:
        groups = _groups(conn, readable_entities(conn), current_locale())
    g.crm_nav = groups
    return groups


def may_configure() -> bool:
    """Whether the signed-in user may open the studio (an administrator, or "configure" on every entity)."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    if current_user.is_admin:
        return True
    cached = g.get("crm_may_configure")
    if cached is None:
        with services().engine.connect() as conn:
            try:
                require_configure(conn, current_user.actor())
                cached = True
            except AccessDenied:
                cached = False
        g.crm_may_configure = cached
    return bool(cached)


def entity_group(entity: str) -> NavGroup | None:
    """Return the sidebar group holding ``entity`` (for breadcrumbs)."""
    return next((gr for gr in navigation() if any(e.name == entity for e in gr.entities)), None)


def nav_entity(entity: str) -> NavEntity | None:
    """Return the sidebar entry (label and icon) of ``entity``, None when the user may not open it."""
    return next((e for gr in navigation() for e in gr.entities if e.name == entity), None)
