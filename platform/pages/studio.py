"""The studio: entities and their fields in the draft, the pending changes and publishing.

Every write goes through the same metadata service as /api/v1/meta (put_document, publish), so the
studio, the API and the CLI cannot disagree. Only administrators and roles with "configure" on '*'.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required, username
from crm_platform.i18n import current_locale, t
from crm_platform.pages.nav import icon_name
from crm_platform.pages.studioforms import entity_document, field_definition
from crm_platform.services import services
from metamodel.definitions import Bundle
from metamodel.diff import diff_bundles
from metamodel.errors import CrmError, NotFound
from metamodel.versions import StaleDraft, fingerprint

bp = Blueprint("studio", __name__, url_prefix="/studio")
ICONS = (
    "database",
    "users",
    "user",
    "building",
    "building-store",
    "package",
    "receipt",
    "ticket",
    "calendar",
    "phone",
    "star",
    "tool",
    "truck",
    "heart",
    "book",
    "clipboard",
)


def active_bundle() -> Bundle:
    """Return the active version's metadata (empty before the first publish)."""
    metadata = services().metadata
    active = metadata.active_version()
    return metadata.bundle_of(active) if active is not None else Bundle.from_json({})


def pending_changes() -> list[dict[str, Any]]:
    """Return what the draft changes against the active version (everything, before the first publish)."""
    return diff_bundles(active_bundle(), services().metadata.draft())


def _entities(bundle: Bundle) -> list[dict[str, Any]]:
    locale = current_locale()
    rows = []
    for name, doc in sorted(bundle.documents.get("entity", {}).items()):
        labels = doc.get("label") or {}
        rows.append(
            {
                "name": name,
                "label": labels.get(locale) or labels.get("en") or name,
                "icon": icon_name(doc.get("icon")),
                "fields": len(doc.get("fields") or []),
                "is_child": bool(doc.get("is_child")),
            }
        )
    return rows


def _type_labels() -> list[tuple[str, str]]:
    names = services().field_types.names()
    return [(n, t(f"studio.type.{n}") if t(f"studio.type.{n}") != f"studio.type.{n}" else n) for n in names]


def studio_page(template: str, status: int = 200, **extra: Any) -> Any:
    """Render a studio page with the entity list and the unpublished-changes bar."""
    draft = services().metadata.draft()
    changes = pending_changes()
    return render_template(
        template,
        entities=_entities(draft),
        changes=changes,
        field_types=_type_labels(),
        icons=ICONS,
        locale=current_locale(),
        **extra,
    ), status


@bp.get("")
@login_required
@configure_required
def studio_home() -> Any:
    """The studio's start: the entity list and the new-entity form."""
    return studio_page("studio/home.html")


@bp.post("/entities")
@login_required
@configure_required
def create_entity() -> Any:
    """Add a new entity (with its title field) to the draft."""
    try:
        name, doc = entity_document(request.form)
        if name in services().metadata.draft().documents.get("entity", {}):
            raise CrmError(t("studio.err.entity_exists", name=name))
        services().metadata.put_document("entity", name, doc, username(), base="")
    except CrmError as exc:
        return studio_page("studio/home.html", exc.status, error=_stale_message(exc), form=request.form)
    flash(t("studio.entity_added", name=name))
    return redirect(url_for("studio.entity", name=name))


def _stale_message(exc: CrmError) -> CrmError:
    """Say a refused stale save in the reader's language: who saved first, and that nothing was lost."""
    if isinstance(exc, StaleDraft):
        who = exc.extra.get("changed_by") or t("studio.someone")
        return CrmError(t("studio.err.stale", who=who))
    return exc


def _draft_entity(name: str) -> dict[str, Any]:
    doc = services().metadata.draft().documents.get("entity", {}).get(name[:100])
    if doc is None:
        raise NotFound(t("studio.err.no_entity", name=name[:100]))
    return copy.deepcopy(doc)


def _field_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    locale = current_locale()
    types = dict(_type_labels())
    rows = []
    for field in doc.get("fields") or []:
        labels = field.get("label") or {}
        rows.append(
            {
                "name": field["name"],
                "label": labels.get(locale) or labels.get("en") or field["name"],
                "type": types.get(field["type"], field["type"]),
                "required": bool(field.get("required")),
                "title": field["name"] == doc.get("title_field"),
                "options": len(field.get("options") or []),
                "validations": len((field.get("rules") or {}).get("validations") or []),
            }
        )
    return rows


@bp.get("/entities/<name>")
@login_required
@configure_required
def entity(name: str) -> Any:
    """One entity of the draft: its fields and the add-field form."""
    doc = _draft_entity(name)
    return studio_page(
        "studio/entity.html", doc=doc, fields=_field_rows(doc), current=name, base=fingerprint(doc)
    )


@bp.post("/entities/<name>/fields")
@login_required
@configure_required
def add_field(name: str) -> Any:
    """Add a field to a draft entity."""
    doc = _draft_entity(name)
    targets = [
        n for n, d in services().metadata.draft().documents.get("entity", {}).items() if not d.get("is_child")
    ]
    try:
        field = field_definition(request.form, services().field_types.names(), targets)
        if any(f["name"] == field["name"] for f in doc.get("fields") or []):
            raise CrmError(t("studio.err.field_exists", name=field["name"]))
        doc["fields"] = [*(doc.get("fields") or []), field]
        # The fingerprint of the entity the admin opened: someone else's save since is refused, not lost.
        base = request.form.get("base")
        services().metadata.put_document("entity", name, doc, username(), base=base and base[:64])
    except CrmError as exc:
        latest = _draft_entity(name)
        return studio_page(
            "studio/entity.html",
            exc.status if isinstance(exc, StaleDraft) else 422,
            doc=latest,
            fields=_field_rows(latest),
            current=name,
            error=_stale_message(exc),
            form=request.form,
            base=fingerprint(latest),
        )
    flash(t("studio.field_added", name=field["name"]))
    return redirect(url_for("studio.entity", name=name))
