"""The studio's field page: one field of the draft, its settings in words and its validation rules
(field ``rules.validations``), each added, edited and removed with the studio's one validation editor.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiofieldedit import (
    CHOICES,
    PALETTE,
    RETYPES,
    field_findings,
    read_options,
    read_rename,
    read_retype,
    read_settings,
    save_field,
)
from crm_platform.pages.studiorules import entity_doc
from crm_platform.pages.studiovalidations import (
    MAX_FIELD,
    field_of,
    problems_by_path,
    refused,
    validation_page,
)
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import text
from crm_platform.services import services
from metamodel.definitions import FieldDef
from metamodel.errors import CrmError
from metamodel.fieldtypes.base import ValueProblem
from metamodel.versions import StaleDraft, fingerprint

# Nested under the studio blueprint at start-up: endpoints read "studio.field.<view>".
bp = Blueprint("field", __name__)
_CONDITIONS = ("visible_if", "required_if", "readonly_if", "formula", "default")


def _type_label(kind: str) -> str:
    found = t(f"studio.type.{kind}")
    return kind if found == f"studio.type.{kind}" else found


def _facts(doc: dict[str, Any], field: dict[str, Any]) -> list[tuple[str, str]]:
    """The field's settings said briefly, for the summary beside its rules."""
    facts = [(t("studio.type"), _type_label(str(field.get("type"))))]
    if field.get("type") == "link":
        target = str(field.get("target") or "")
        entities = services().metadata.draft().documents.get("entity", {})
        facts.append((t("studio.target"), label_of(entities.get(target), target)))
    if field.get("options"):
        facts.append((t("studio.options"), t("studio.n_options", n=len(field["options"]))))
    facts.append(
        (t("studio.required"), t("studio.value.yes") if field.get("required") else t("studio.value.no"))
    )
    if field.get("name") == doc.get("title_field"):
        facts.append((t("studio.title_badge"), t("studio.value.yes")))
    rules = field.get("rules") or {}
    facts += [(t(f"studio.prop.{key}"), str(rules[key])) for key in _CONDITIONS if rules.get(key)]
    return facts


def _render(name: str, doc: dict[str, Any], found: dict[str, Any], status: int = 200, **extra: Any) -> Any:
    validations = (found.get("rules") or {}).get("validations") or []
    record_wide = (doc.get("rules") or {}).get("validations") or []
    index = next(i for i, f in enumerate(doc.get("fields") or []) if f.get("name") == found["name"])
    extra.setdefault("values", found)
    return studio_page(
        "studio/field.html",
        status,
        doc=doc,
        field=found,
        current=name,
        facts=_facts(doc, found),
        validations=validations,
        record_wide=len(record_wide),
        room=len(validations) < MAX_FIELD,
        base=fingerprint(services().metadata.draft().documents["entity"][name]),
        findings=field_findings(name, index),
        palette=PALETTE,
        choices=CHOICES,
        retypes=[(k, _type_label(k)) for k in RETYPES if k != found.get("type")],
        default_text=_default_text(found),
        problems=extra.pop("problems", {}),
        **extra,
    )


def _default_text(field: dict[str, Any]) -> str:
    value = field.get("default")
    registry = services().metadata.registry
    if value is None or field.get("type") not in registry:
        return ""
    definition = FieldDef(field)
    kind = registry.get(str(field["type"]))
    try:
        return kind.to_text(definition, kind.prepare(definition, value))
    except ValueProblem:
        return str(value)


@bp.get("/entities/<name>/fields/<field>")
@login_required
@configure_required
def field_page(name: str, field: str) -> Any:
    """One field: its settings, options, rename and retype, and its validation rules."""
    doc = entity_doc(name)
    return _render(name, doc, field_of(doc, field))


_READERS = {"settings", "options", "rename", "retype"}


@bp.post("/entities/<name>/fields/<field>")
@login_required
@configure_required
def field_edit(name: str, field: str) -> Any:
    """Save one part of the field (op: settings, options, rename, retype) into the draft."""
    doc = entity_doc(name)
    found = field_of(doc, field)
    index = doc["fields"].index(found)
    op = request.form.get("op") or ""
    if op not in _READERS:
        return redirect(url_for("studio.field.field_page", name=name, field=found["name"]))
    if op == "settings":
        changed, problems = read_settings(request.form, found)
    elif op == "options" and found.get("type") in CHOICES:
        changed, problems = read_options(request.form, found)
    elif op == "rename":
        changed, problems = read_rename(request.form, doc, found)
    elif op == "retype":
        changed, problems = read_retype(request.form, found)
    else:
        return redirect(url_for("studio.field.field_page", name=name, field=found["name"]))
    try:
        saved = save_field(name, doc, index, changed, problems, text(request.form, "base", 64))
    except CrmError as exc:
        latest = entity_doc(name)
        shown = field_of(latest, field)
        status = 409 if isinstance(exc, StaleDraft) else 422
        return _render(
            name,
            latest,
            shown,
            status,
            error=refused(exc),
            problems=problems_by_path(exc),
            values=changed,
            op=op,
        )
    flash(t(f"studio.fe.saved_{op}", name=saved))
    return redirect(url_for("studio.field.field_page", name=name, field=saved))


@bp.route("/entities/<name>/fields/<field>/validations/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def field_validation(name: str, field: str, key: str) -> Any:
    """Add, edit, test on live data or remove one validation of a field."""
    return validation_page(name, entity_doc(name), field, key)


__all__ = ["bp"]
