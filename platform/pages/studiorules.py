"""The studio's rule builder: an entity's validations, formulas and defaults, and its triggers (see
studiotriggers), each built from a form and tested on live data before publish.

Every write goes through the metadata draft service the API uses (put_document); a save made by someone
else since the page was opened is refused, not overwritten.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required, username
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiodryrun import test_formula
from crm_platform.pages.studioexpr import check_expression, draft_site
from crm_platform.pages.studiovalidations import problems_by_path, refused, validation_page
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import schedule_kind, text
from crm_platform.services import services
from metamodel.errors import CrmError, MetadataInvalid, NotFound, Problem
from metamodel.versions import StaleDraft, fingerprint

# Nested under the studio blueprint at start-up: endpoints read "studio.rules.<view>".
bp = Blueprint("rules", __name__)


def entity_doc(name: str) -> dict[str, Any]:
    """A copy of a (non-child) entity of the draft; 404 for others."""
    doc = services().metadata.draft().documents.get("entity", {}).get(name[:100])
    if doc is None or doc.get("is_child"):
        raise NotFound(t("studio.err.no_entity", name=name[:100]))
    return copy.deepcopy(doc)


def field_label(doc: Mapping[str, Any], name: str) -> str:
    """The label of a field of an entity document (its name when it has none)."""
    found = next((f for f in doc.get("fields") or [] if f.get("name") == name), None)
    return label_of(found, name) if found else name


def schedule_words(doc: Mapping[str, Any], entity: Mapping[str, Any]) -> str:
    """Say when a trigger fires, in the reader's language."""
    if doc.get("event") != "time":
        return t(f"studio.rules.event.{doc.get('event')}")
    schedule = doc.get("schedule") or {}
    kind = schedule_kind(doc)
    if kind == "relative":
        field = field_label(entity, str(schedule.get("relative_to")))
        return t("studio.rules.when_relative", field=field, hours=schedule.get("offset_hours") or 0)
    if kind == "in_state":
        return t(
            "studio.rules.when_in_state", state=schedule.get("state"), hours=schedule.get("in_state_hours")
        )
    return t("studio.rules.when_cron", cron=schedule.get("cron"))


def trigger_rows(entity: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The draft's triggers on one entity, described for the list."""
    rows = []
    for name, doc in sorted(services().metadata.draft().documents.get("trigger", {}).items()):
        if doc.get("entity") != entity["name"]:
            continue
        actions = [t(f"studio.rules.action.{a.get('type')}") for a in doc.get("actions") or []]
        rows.append(
            {
                "name": name,
                "label": label_of(doc, name),
                "when": schedule_words(doc, entity),
                "time": doc.get("event") == "time",
                "actions": ", ".join(actions),
                "enabled": doc.get("enabled", True),
            }
        )
    return rows


def _formula_rows(entity: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for field in entity.get("fields") or []:
        rules = field.get("rules") or {}
        if rules.get("formula") or rules.get("default"):
            rows.append(
                {
                    "name": field["name"],
                    "label": label_of(field, field["name"]),
                    "formula": rules.get("formula", ""),
                    "default": rules.get("default", ""),
                }
            )
    return rows


@bp.get("/entities/<name>/rules")
@login_required
@configure_required
def rules_home(name: str) -> Any:
    """An entity's rules: validations, formulas and defaults, triggers."""
    doc = entity_doc(name)
    return studio_page(
        "studio/rules.html",
        doc=doc,
        current=name,
        validations=(doc.get("rules") or {}).get("validations") or [],
        formulas=_formula_rows(doc),
        field_validations=[
            (f["name"], label_of(f, f["name"]), len((f.get("rules") or {}).get("validations") or []))
            for f in doc.get("fields") or []
            if (f.get("rules") or {}).get("validations")
        ],
        triggers=trigger_rows(doc),
    )


def _problem(path: str, verdict: Mapping[str, Any]) -> Problem | None:
    return None if verdict["ok"] else Problem(path, str(verdict["message"]), str(verdict["position"] or ""))


def _save_entity(name: str, doc: dict[str, Any], base: str) -> None:
    services().metadata.put_document("entity", name, doc, username(), base=base[:64])


@bp.route("/entities/<name>/rules/validations/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def validation(name: str, key: str) -> Any:
    """Add or edit one record-wide validation of the entity; test it on live data; remove it."""
    return validation_page(name, entity_doc(name), None, key)


@bp.route("/entities/<name>/rules/formulas", methods=["GET", "POST"])
@login_required
@configure_required
def formula(name: str) -> Any:
    """Set a field's formula (computed field) or default; test the formula on live data."""
    doc = entity_doc(name)
    fields = [f for f in doc.get("fields") or [] if f.get("type") != "child_table"]
    chosen = text(request.values, "field", 63) or (fields[0]["name"] if fields else "")
    field = next((f for f in fields if f["name"] == chosen), None)
    if field is None:
        raise NotFound(t("studio.err.no_field", name=chosen))
    base = fingerprint(services().metadata.draft().documents["entity"][name])
    rules = dict(field.get("rules") or {})
    report, error, status = None, None, 200
    if request.method == "POST":
        problems: list[Problem] = []
        for part in ("formula", "default"):
            value = text(request.form, part, 2000)
            rules.pop(part, None)
            if value:
                rules[part] = value
                found = _problem(part, check_expression(draft_site(), name, value, "value"))
                problems += [found] if found else []
        try:
            if request.form.get("op") == "test" and rules.get("formula"):
                report = test_formula(name, field["name"], rules["formula"])
            elif request.form.get("op") == "save":
                if problems:
                    raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
                if rules:
                    field["rules"] = rules
                else:
                    field.pop("rules", None)
                _save_entity(name, doc, text(request.form, "base", 64))
                flash(t("studio.rules.saved"))
                return redirect(url_for("studio.rules.rules_home", name=name))
        except CrmError as exc:
            error, status = refused(exc), 409 if isinstance(exc, StaleDraft) else 422
    return studio_page(
        "studio/rules_formula.html",
        status,
        doc=doc,
        current=name,
        field=field,
        rules=rules,
        base=base,
        report=report,
        error=error,
        problems=problems_by_path(error),
        fields=[(f["name"], label_of(f, f["name"])) for f in fields],
    )


__all__ = ["bp", "entity_doc", "field_label", "problems_by_path", "schedule_words", "trigger_rows"]
