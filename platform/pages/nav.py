"""The app shell's navigation: the entities a user may read, grouped by the pack that brought them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from flask import g
from flask_login import current_user

from crm_platform.i18n import current_locale, t
from crm_platform.pages.fieldaccess import signed_in_reader
from crm_platform.services import services, site_model
from industry_templates.store import installed_packs
from metamodel.access.enforcement import configures
from metamodel.access.grants import Grants, bypasses
from metamodel.model import EntityModel, SiteModel

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


def readable_entities() -> list[EntityModel]:
    """Return the top-level entities the signed-in user may open, in metadata order."""
    actor = signed_in_reader()
    grants = None if bypasses(actor) else actor.grants
    return [m for m in site_model().entities.values() if not m.entity.is_child and may_read(grants, m.name)]


@dataclass(frozen=True)
class _Pack:
    """What the sidebar needs of an installed pack: its name, labels and entities."""

    name: str
    labels: dict[str, str]
    entities: tuple[str, ...]


# Installed packs change only with a publish (install, upgrade and uninstall publish in the same
# transaction), so they are read once per compiled metadata version, not on every page.
_PACKS: WeakKeyDictionary[SiteModel, list[_Pack]] = WeakKeyDictionary()


def _installed(site: SiteModel) -> list[_Pack]:
    found = _PACKS.get(site)
    if found is None:
        with services().engine.connect() as conn:
            rows = sorted(installed_packs(conn).items())
        found = [_Pack(name, dict(p.manifest.get("label") or {}), tuple(p.entities())) for name, p in rows]
        _PACKS[site] = found
    return found


def _groups(models: list[EntityModel], locale: str) -> list[NavGroup]:
    owner: dict[str, NavGroup] = {}
    groups: list[NavGroup] = []
    for pack in _installed(site_model()):
        group = NavGroup(pack.name, str(pack.labels.get(locale) or pack.labels.get("en") or pack.name))
        groups.append(group)
        for entity in pack.entities:
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
    groups = _groups(readable_entities(), current_locale())
    g.crm_nav = groups
    return groups


def may_configure() -> bool:
    """Whether the signed-in user may open the studio (an administrator, or "configure" on every entity)."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    if current_user.is_admin:
        return True
    return configures(signed_in_reader())


def entity_group(entity: str) -> NavGroup | None:
    """Return the sidebar group holding ``entity`` (for breadcrumbs)."""
    return next((gr for gr in navigation() if any(e.name == entity for e in gr.entities)), None)


def nav_entity(entity: str) -> NavEntity | None:
    """Return the sidebar entry (label and icon) of ``entity``, None when the user may not open it."""
    return next((e for gr in navigation() for e in gr.entities if e.name == entity), None)
