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


def pending_changes() -> list[dict[str, Any]]:
    """Return what the draft changes against the active version (everything, before the first publish)."""
    metadata = services().metadata
    active = metadata.active_version()
    before = metadata.bundle_of(active) if active is not None else Bundle.from_json({})
    return diff_bundles(before, metadata.draft())


def _describe(change: dict[str, Any]) -> str:
    """Say a change in plain words: "Field Phone added to Service ticket"."""
    locale = current_locale()

    def label(doc: Any, fallback: str) -> str:
        labels = doc.get("label") if isinstance(doc, dict) else None
        if isinstance(labels, dict):
            return str(labels.get(locale) or labels.get("en") or fallback)
        return fallback

    kind, name, what = change["kind"], change["name"], change["change"]
    doc = change["after"] if change["after"] is not None else change["before"]
    subject = label(doc, name) if what in ("added", "removed") else name
    if what in ("field_added", "field_removed", "field_changed"):
        field = label(doc, change["path"].split(".", 1)[-1])
        return t(f"studio.change.{what}", field=field, entity=name)
    if what in ("added", "removed"):
        return t(f"studio.change.{what}", kind=t(f"studio.kind.{kind}"), name=subject)
    return t("studio.change.changed", kind=t(f"studio.kind.{kind}"), name=name, path=change["path"])


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


def _page(template: str, status: int = 200, **extra: Any) -> Any:
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
    return _page("studio/home.html")


@bp.post("/entities")
@login_required
@configure_required
def create_entity() -> Any:
    """Add a new entity (with its title field) to the draft."""
    try:
        name, doc = entity_document(request.form)
        if name in services().metadata.draft().documents.get("entity", {}):
            raise CrmError(t("studio.err.entity_exists", name=name))
        services().metadata.put_document("entity", name, doc, username())
    except CrmError as exc:
        return _page("studio/home.html", 422, error=exc, form=request.form)
    flash(t("studio.entity_added", name=name))
    return redirect(url_for("studio.entity", name=name))


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
            }
        )
    return rows


@bp.get("/entities/<name>")
@login_required
@configure_required
def entity(name: str) -> Any:
    """One entity of the draft: its fields and the add-field form."""
    doc = _draft_entity(name)
    return _page("studio/entity.html", doc=doc, fields=_field_rows(doc), current=name)


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
        services().metadata.put_document("entity", name, doc, username())
    except CrmError as exc:
        fields = _field_rows(_draft_entity(name))
        return _page(
            "studio/entity.html", 422, doc=doc, fields=fields, current=name, error=exc, form=request.form
        )
    flash(t("studio.field_added", name=field["name"]))
    return redirect(url_for("studio.entity", name=name))


@bp.get("/review")
@login_required
@configure_required
def review() -> Any:
    """The pending changes in plain words, and the publish form."""
    described = [{**c, "text": _describe(c)} for c in pending_changes()]
    return _page("studio/review.html", described=described)


@bp.post("/publish")
@login_required
@configure_required
def publish() -> Any:
    """Validate and publish the draft, with a comment."""
    comment = (request.form.get("comment") or "").strip()[:500]
    try:
        info = services().metadata.publish(username(), comment)
    except CrmError as exc:
        described = [{**c, "text": _describe(c)} for c in pending_changes()]
        return _page("studio/review.html", 422, described=described, error=exc)
    flash(t("studio.published", version=info.number))
    return redirect(url_for("studio.review"))
