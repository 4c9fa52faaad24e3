"""The studio's form designer: fields dragged into tabs, sections and columns, per-field overrides, the
conditions (visible_if / required_if) checked by the rule engine, and a live preview of the generated form.

The preview is the real form (form_renderer.build_form) of the draft with the designer's unsaved changes;
its conditions are judged by the same server evaluation as /form-state (rule_engine form_states). Saving
writes the form and the entity's field rules through the metadata service the API uses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required, username
from crm_platform.i18n import current_locale, t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiowords import label_of
from crm_platform.services import services
from crm_platform.timezones import form_reader
from form_renderer.formdata import parse_form
from form_renderer.layout import build_form
from metamodel.definitions import Bundle
from metamodel.errors import CrmError, MetadataInvalid, NotFound, Problem, ProblemList
from metamodel.model import EntityModel, SiteModel
from metamodel.versions import StaleDraft, fingerprint
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, compatible
from rule_engine.fieldrules.formstate import form_states

# Nested under the studio blueprint at start-up: endpoints read "studio.form.<view>".
bp = Blueprint("form", __name__)
CONDITIONS = ("visible_if", "required_if")
_MAX_TABS, _MAX_SECTIONS = 20, 40


def _entity_doc(draft: Bundle, name: str) -> dict[str, Any]:
    doc = draft.documents.get("entity", {}).get(name[:100])
    if doc is None or doc.get("is_child"):
        raise NotFound(t("studio.err.no_entity", name=name[:100]))
    return copy.deepcopy(doc)


def _form_doc(draft: Bundle, entity: str) -> tuple[str, dict[str, Any] | None]:
    """The entity's form document in the draft (its first), or the name a new one gets."""
    for name, doc in sorted(draft.documents.get("form", {}).items()):
        if doc.get("entity") == entity:
            return name, copy.deepcopy(doc)
    return f"{entity}_form"[:40], None


def _layout_of(form: dict[str, Any] | None, entity: dict[str, Any]) -> list[dict[str, Any]]:
    names = [f["name"] for f in entity.get("fields") or []]
    tabs = (form or {}).get("tabs") or [{"sections": [{"columns": 2, "fields": names}]}]
    return [
        {
            "label": label_of(tab, ""),
            "sections": [
                {
                    "label": label_of(section, ""),
                    "columns": int(section.get("columns") or 1),
                    "fields": [n for n in section.get("fields") or [] if n in names],
                }
                for section in tab.get("sections") or []
            ],
        }
        for tab in tabs
    ]


def _text(form: Mapping[str, str], key: str, limit: int = 200) -> str:
    return (form.get(key) or "").strip()[:limit]


def known_labels(form: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """Map each tab, section and help text as shown in this language to its labels in every language."""
    found: dict[str, dict[str, str]] = {}
    for tab in (form or {}).get("tabs") or []:
        for item in [tab, *(tab.get("sections") or [])]:
            if isinstance(item.get("label"), dict):
                found.setdefault(label_of(item, ""), item["label"])
    for override in ((form or {}).get("overrides") or {}).values():
        if isinstance(override.get("help"), dict):
            found.setdefault(label_of({"label": override["help"]}, ""), override["help"])
    return found


def _labels(text: str, known: Mapping[str, dict[str, str]]) -> dict[str, str]:
    """Labels for ``text`` typed in this language: unchanged text keeps its other language too."""
    return dict(known.get(text) or {current_locale(): text})


def parse_layout(
    raw: str, names: list[str], known: Mapping[str, dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Return the form's tabs from the designer's layout JSON; unknown fields are dropped."""
    try:
        tabs = json.loads(raw or "[]")
    except ValueError:
        tabs = None
    if not isinstance(tabs, list) or not tabs:
        raise MetadataInvalid(t("studio.err.form"), [Problem("layout", t("studio.err.layout"), "invalid")])
    placed: set[str] = set()
    result = []
    for tab in tabs[:_MAX_TABS]:
        sections = []
        for section in (tab.get("sections") if isinstance(tab, dict) else None) or []:
            if not isinstance(section, dict):
                continue
            fields = [n for n in section.get("fields") or [] if n in names and n not in placed]
            placed.update(fields)
            out: dict[str, Any] = {"columns": min(max(int(section.get("columns") or 1), 1), 4)}
            out["fields"] = fields
            label = str(section.get("label") or "").strip()[:200]
            if label:
                out["label"] = _labels(label, known or {})
            sections.append(out)
        if sections:
            entry: dict[str, Any] = {"sections": sections[:_MAX_SECTIONS]}
            label = str(tab.get("label") or "").strip()[:200]
            if label:
                entry["label"] = _labels(label, known or {})
            result.append(entry)
    if not result:
        raise MetadataInvalid(t("studio.err.form"), [Problem("layout", t("studio.err.layout"), "invalid")])
    return result


def _overrides(
    form: Mapping[str, str], names: list[str], known: Mapping[str, dict[str, str]]
) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for name in names:
        entry: dict[str, Any] = {}
        label = {"en": _text(form, f"p-{name}-label_en"), "zh-CN": _text(form, f"p-{name}-label_zh")}
        if any(label.values()):
            entry["label"] = {k: v for k, v in label.items() if v}
        help_text = _text(form, f"p-{name}-help", 500)
        if help_text:
            entry["help"] = _labels(help_text, known)
        if form.get(f"p-{name}-readonly") == "on":
            entry["readonly"] = True
        if entry:
            overrides[name] = entry
    return overrides


def _with_conditions(entity: dict[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """Return the entity document with each field's visible_if / required_if from the designer."""
    for field in entity.get("fields") or []:
        rules = dict(field.get("rules") or {})
        for key in CONDITIONS:
            text = _text(form, f"p-{field['name']}-{key}", 2000)
            if text:
                rules[key] = text
            else:
                rules.pop(key, None)
        if rules:
            field["rules"] = rules
        else:
            field.pop("rules", None)
    return entity


def designed(name: str, form: Mapping[str, str]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Return the entity document, the form's name and the form document the designer describes."""
    draft = services().metadata.draft()
    entity = _with_conditions(_entity_doc(draft, name), form)
    names = [f["name"] for f in entity.get("fields") or []]
    form_name, before = _form_doc(draft, name)
    known = known_labels(before)
    doc: dict[str, Any] = {
        "name": form_name,
        "entity": name,
        "tabs": parse_layout(form.get("layout", ""), names, known),
    }
    overrides = _overrides(form, names, known)
    if overrides:
        doc["overrides"] = overrides
    return entity, form_name, doc


def _draft_site(entity: dict[str, Any], form_name: str, form: dict[str, Any]) -> SiteModel:
    """Compile the draft with the designer's unsaved entity and form (for the preview only)."""
    svc = services()
    bundle = Bundle.from_json(svc.metadata.draft().to_json())
    bundle.documents["entity"][entity["name"]] = entity
    bundle.documents["form"] = {
        n: d for n, d in bundle.documents.get("form", {}).items() if d.get("entity") != entity["name"]
    }
    bundle.documents["form"][form_name] = form
    # A negative version of its own: compiled expressions are cached per version, never mixed with real ones.
    version = -int(fingerprint(bundle.to_json())[:12], 16)
    site = SiteModel(version, bundle, svc.field_types, svc.metadata.sealing)
    site.time_zone = svc.metadata.model().time_zone  # previews and dry runs count days in the site's zone
    return site


def _states(site: SiteModel, model: EntityModel, values: Mapping[str, Any]) -> dict[str, Any]:
    svc = services()
    try:
        with svc.engine.connect() as conn:
            return dict(form_states(svc.rules, site, model.name, values, None, conn))
    except Exception:  # an unfinished condition: the preview shows every field until it compiles
        return {}


@bp.get("/entities/<name>/form")
@login_required
@configure_required
def designer(name: str) -> Any:
    """The form designer of one entity."""
    draft = services().metadata.draft()
    entity = _entity_doc(draft, name)
    form = _form_doc(draft, name)[1]
    layout = _layout_of(form, entity)
    placed = {n for tab in layout for s in tab["sections"] for n in s["fields"]}
    fields = [_field_panel(f, (form or {}).get("overrides") or {}) for f in entity.get("fields") or []]
    return studio_page(
        "studio/form.html",
        doc=entity,
        current=name,
        layout=layout,
        fields=fields,
        unplaced=[f for f in fields if f["name"] not in placed],
        by_name={f["name"]: f for f in fields},
        base_entity=fingerprint(draft.documents["entity"][name]),
        base_form=fingerprint(form),
        wide=True,
    )


def _field_panel(field: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    override = overrides.get(field["name"]) or {}
    rules = field.get("rules") or {}
    labels = override.get("label") or {}
    return {
        "name": field["name"],
        "label": label_of(override, label_of(field, field["name"].replace("_", " ").capitalize())),
        "type": field["type"],
        "type_label": t(f"studio.type.{field['type']}"),
        "label_en": labels.get("en", ""),
        "label_zh": labels.get("zh-CN", ""),
        "help": label_of({"label": override.get("help")}, "") if override.get("help") else "",
        "readonly": bool(override.get("readonly")),
        "visible_if": rules.get("visible_if", ""),
        "required_if": rules.get("required_if", ""),
        "required": bool(field.get("required")),
    }


@bp.post("/entities/<name>/form")
@login_required
@configure_required
def save(name: str) -> Any:
    """Save the designed form and the fields' conditions into the draft (refused if someone saved first)."""
    metadata = services().metadata
    try:
        entity, form_name, form = designed(name, request.form)
        site = _draft_site(entity, form_name, form)
        problems = [p for p in _condition_problems(site, entity) if p is not None]
        if problems:
            raise MetadataInvalid(t("studio.err.form"), problems)
        metadata.put_document("entity", name, entity, username(), base=_text(request.form, "base_entity", 64))
        metadata.put_document("form", form_name, form, username(), base=_text(request.form, "base_form", 64))
    except StaleDraft as exc:
        who = exc.extra.get("changed_by") or t("studio.someone")
        flash(t("studio.err.stale_form", who=who), "error")
        return redirect(url_for("studio.form.designer", name=name)), 303
    except CrmError as exc:
        flash(f"{exc.message} " + "; ".join(f"{p.path}: {p.message}" for p in exc.problems), "error")
        return redirect(url_for("studio.form.designer", name=name)), 303
    flash(t("studio.form_saved"))
    return redirect(url_for("studio.form.designer", name=name))


def _condition_problems(site: SiteModel, entity: dict[str, Any]) -> list[Problem | None]:
    found: list[Problem | None] = []
    for field in entity.get("fields") or []:
        for key in CONDITIONS:
            text = (field.get("rules") or {}).get(key)
            if text:
                found.append(check_condition(site, entity["name"], text, f"p-{field['name']}-{key}"))
    return found


def check_condition(site: SiteModel, entity: str, text: str, path: str) -> Problem | None:
    """Compile a condition with the rule engine; the problem carries the engine's message and position."""
    try:
        compiled = shared_expressions(services().rules.functions).compile(site, entity, text)
    except Exception as exc:
        position = getattr(exc, "position", None)
        return Problem(
            path, str(getattr(exc, "message", "") or exc), str(position if position is not None else "")
        )
    if not compatible(compiled.result_type, BOOLEAN):
        return Problem(path, t("studio.err.not_condition", kind=compiled.result_type), "")
    return None


@bp.post("/entities/<name>/form/check")
@login_required
@configure_required
def check(name: str) -> Any:
    """Check one condition as the admin types: ``{ok, message, position}`` from the rule engine."""
    entity, form_name, form = designed(name, request.form)
    site = _draft_site(entity, form_name, form)
    problem = check_condition(site, name, _text(request.form, "expression", 2000), "expression")
    if problem is None:
        return jsonify({"ok": True, "message": "", "position": None})
    position = int(problem.code) if problem.code.isdigit() else None
    return jsonify({"ok": False, "message": problem.message, "position": position})


@bp.post("/entities/<name>/form/preview")
@login_required
@configure_required
def preview(name: str) -> Any:
    """The generated form with the sample values posted, conditions judged by the server."""
    try:
        entity, form_name, form = designed(name, request.form)
    except MetadataInvalid:
        entity, form_name = _entity_doc(services().metadata.draft(), name), f"{name}_form"
        form = {"name": form_name, **default_form_doc(entity)}
    site = _draft_site(entity, form_name, form)
    model = site.entities[name]
    values = parse_form(site, model, request.form, ProblemList(), form_reader())
    states = _states(site, model, values)
    view = build_form(site, model, values, {}, current_locale(), {}, None, services().presentations, states)
    return render_template("studio/preview.html", form=view, model=model)


def default_form_doc(entity: dict[str, Any]) -> dict[str, Any]:
    """The default one-section form of an entity document."""
    names = [f["name"] for f in entity.get("fields") or []]
    return {"entity": entity["name"], "tabs": [{"sections": [{"columns": 2, "fields": names}]}]}


__all__ = ["bp", "check_condition", "parse_layout"]
