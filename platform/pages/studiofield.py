"""The studio's field page: one field of the draft, its settings in words and its validation rules
(field ``rules.validations``), each added, edited and removed with the studio's one validation editor.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import login_required

from crm_platform.api.common import configure_required
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiorules import entity_doc
from crm_platform.pages.studiovalidations import MAX_FIELD, field_of, validation_page
from crm_platform.pages.studiowords import label_of
from crm_platform.services import services
from metamodel.versions import fingerprint

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


@bp.get("/entities/<name>/fields/<field>")
@login_required
@configure_required
def field_page(name: str, field: str) -> Any:
    """One field: its settings and its validation rules."""
    doc = entity_doc(name)
    found = field_of(doc, field)
    validations = (found.get("rules") or {}).get("validations") or []
    record_wide = (doc.get("rules") or {}).get("validations") or []
    return studio_page(
        "studio/field.html",
        doc=doc,
        field=found,
        current=name,
        facts=_facts(doc, found),
        validations=validations,
        record_wide=len(record_wide),
        room=len(validations) < MAX_FIELD,
        base=fingerprint(doc),
    )


@bp.route("/entities/<name>/fields/<field>/validations/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def field_validation(name: str, field: str, key: str) -> Any:
    """Add, edit, test on live data or remove one validation of a field."""
    return validation_page(name, entity_doc(name), field, key)


__all__ = ["bp"]
