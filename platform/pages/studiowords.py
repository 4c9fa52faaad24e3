"""Metadata changes and problems said in plain words, each linked to the studio page that fixes it."""

from __future__ import annotations

import re
from typing import Any

from flask import url_for

from crm_platform.i18n import current_locale, t
from metamodel.definitions import Bundle
from metamodel.errors import Problem

_PROBLEM_PATH = re.compile(r"^(?P<kind>[a-z_]+)\.(?P<name>[^.\[]+)(?:\.fields\[(?P<index>\d+)\])?")
_ICONS = {
    "added": "ti-square-plus text-green",
    "field_added": "ti-square-plus text-green",
    "removed": "ti-square-minus text-red",
    "field_removed": "ti-square-minus text-red",
    "field_renamed": "ti-forms text-blue",
}


def label_of(doc: Any, fallback: str) -> str:
    """Return a document's (or field's, option's) label in the reader's language."""
    labels = doc.get("label") if isinstance(doc, dict) else None
    if isinstance(labels, dict):
        return str(labels.get(current_locale()) or labels.get("en") or labels.get("zh-CN") or fallback)
    return fallback


def _translated(key: str, fallback: str) -> str:
    text = t(key)
    return fallback if text == key else text


def value_words(value: Any) -> str:
    """Say a setting's value briefly: yes/no, a label, a count of items, a quoted short text."""
    if value is None:
        return t("studio.value.none")
    if isinstance(value, bool):
        return t("studio.value.yes") if value else t("studio.value.no")
    if isinstance(value, dict):
        if value.keys() <= {"en", "zh-CN"}:
            return f"“{label_of({'label': value}, '')}”"
        return t("studio.value.settings", n=len(value))
    if isinstance(value, list):
        return t("studio.value.items", n=len(value))
    text = str(value)
    return f"“{text[:57]}…”" if len(text) > 60 else f"“{text}”"


def _entity_label(bundle: Bundle, name: str) -> str:
    return label_of(bundle.documents.get("entity", {}).get(name), name)


def _field_of(bundle: Bundle, entity: str, field: str) -> Any:
    doc = bundle.documents.get("entity", {}).get(entity) or {}
    return next((f for f in doc.get("fields") or [] if f.get("name") == field), None)


def entity_link(name: str, field: str | None = None) -> str:
    """Return the studio page of an entity (at one field's row)."""
    anchor = f"field-{field}" if field else None
    return url_for("studio.entity", name=name, _anchor=anchor)


def _doc_link(bundle: Bundle, kind: str, name: str) -> str | None:
    """The page that edits a document: entities their own, forms and workflows their entity's."""
    if kind == "entity":
        return entity_link(name) if name in bundle.documents.get("entity", {}) else None
    doc = bundle.documents.get(kind, {}).get(name) or {}
    entity = doc.get("entity")
    if isinstance(entity, str) and entity in bundle.documents.get("entity", {}):
        return entity_link(entity)
    return None


def describe(change: dict[str, Any], before: Bundle, after: Bundle) -> dict[str, Any]:
    """Return ``{text, detail, icon, link}`` for one change of ``diff_bundles(before, after)``."""
    kind, name, what, path = change["kind"], change["name"], change["change"], change["path"]
    bundle = after if change["after"] is not None else before
    entity = _entity_label(after, name) if name in after.documents.get("entity", {}) else None
    entity = entity or _entity_label(before, name)
    detail = ""
    link = _doc_link(after, kind, name)
    if what in ("field_added", "field_removed", "field_changed", "field_renamed"):
        field_name = path.split(".")[1] if what == "field_changed" else path.split(".", 1)[-1]
        doc = _field_of(bundle, name, field_name) or (
            change["after"] if what == "field_added" else change["before"]
        )
        field = label_of(doc, field_name)
        text = t(f"studio.change.{what}", field=field, entity=entity)
        if what == "field_changed":
            detail = _setting_detail(path.rsplit(".", 1)[-1], change["before"], change["after"])
        elif what == "field_renamed":
            detail = f"{change['before']} → {change['after']}"
        if what != "field_removed":
            link = entity_link(name, field_name) if link else None
    elif what in ("added", "removed"):
        doc = change["after"] if change["after"] is not None else change["before"]
        subject = label_of(doc, name) if kind != "entity" else entity
        text = t(f"studio.change.{what}", kind=t(f"studio.kind.{kind}"), name=subject)
    else:
        doc_label = entity if kind == "entity" else label_of(after.documents.get(kind, {}).get(name), name)
        text = t("studio.change.changed", kind=t(f"studio.kind.{kind}"), name=doc_label)
        detail = _setting_detail(path.rsplit(".", 1)[-1], change["before"], change["after"])
    return {"text": text, "detail": detail, "icon": _ICONS.get(what, "ti-pencil text-blue"), "link": link}


def _setting_detail(key: str, old: Any, new: Any) -> str:
    if key == "rules" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
        # Field rules are said one by one: "Shown when: not set → “tier == "gold"”".
        before, after = old or {}, new or {}
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return "; ".join(_setting_detail(k, before.get(k), after.get(k)) for k in keys)
    setting = _translated(f"studio.prop.{key}", key)
    return t("studio.change.setting", setting=setting, old=value_words(old), new=value_words(new))


def describe_all(changes: list[dict[str, Any]], before: Bundle, after: Bundle) -> list[dict[str, Any]]:
    """Describe every change, keeping its kind for grouping."""
    return [{**c, **describe(c, before, after)} for c in changes]


def problem_place(problem: Problem, draft: Bundle) -> dict[str, Any]:
    """Return ``{where, message, link}``: the problem's place in words and the page that fixes it."""
    found = _PROBLEM_PATH.match(problem.path)
    if found is None:
        return {"where": problem.path, "message": problem.message, "link": None}
    kind, name, index = found["kind"], found["name"], found["index"]
    entity_doc = draft.documents.get("entity", {}).get(name) if kind == "entity" else None
    if entity_doc is not None and index is not None:
        fields = entity_doc.get("fields") or []
        field = fields[int(index)] if int(index) < len(fields) else {}
        field_name = str(field.get("name") or "")
        where = t("studio.place.field", field=label_of(field, field_name), entity=label_of(entity_doc, name))
        return {"where": where, "message": problem.message, "link": entity_link(name, field_name or None)}
    doc = draft.documents.get(kind, {}).get(name)
    where = t("studio.place.doc", kind=_translated(f"studio.kind.{kind}", kind), name=label_of(doc, name))
    return {"where": where, "message": problem.message, "link": _doc_link(draft, kind, name)}
