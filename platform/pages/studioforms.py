"""The studio's forms turned into metadata documents: a new entity, a new field (with its type's options)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crm_platform.i18n import t
from metamodel.errors import MetadataInvalid, Problem

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OPTION_TYPES = ("select", "multi_select")
COLOURS = ("gray", "blue", "green", "yellow", "red", "purple")


def _problem(path: str, key: str, code: str) -> Problem:
    """A problem of the studio's own forms, in the reader's language."""
    return Problem(path, t(f"studio.err.{key}"), code)


def _text(form: Mapping[str, str], key: str, limit: int = 200) -> str:
    return (form.get(key) or "").strip()[:limit]


def _labels(form: Mapping[str, str], prefix: str) -> dict[str, str]:
    labels = {"en": _text(form, f"{prefix}_en"), "zh-CN": _text(form, f"{prefix}_zh")}
    return {k: v for k, v in labels.items() if v}


def _name(form: Mapping[str, str], key: str, path: str, problems: list[Problem]) -> str:
    name = _text(form, key, 60)
    if not NAME.match(name):
        problems.append(_problem(path, "name_format", "name"))
    return name


def entity_document(form: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """Return the name and draft document of a new entity: labels, icon and its title field."""
    problems: list[Problem] = []
    name = _name(form, "name", "name", problems)
    label = _labels(form, "label")
    if "en" not in label and "zh-CN" not in label:
        problems.append(_problem("label_en", "label_required", "required"))
    title = _labels(form, "title")
    if not title:
        problems.append(_problem("title_en", "label_required", "required"))
    if problems:
        raise MetadataInvalid(t("studio.err.form"), problems)
    doc: dict[str, Any] = {
        "name": name,
        "label": label,
        "title_field": "title",
        "fields": [{"name": "title", "type": "text", "required": True, "searchable": True, "label": title}],
    }
    icon = _text(form, "icon", 40)
    if icon:
        doc["icon"] = icon
    return name, doc


def _options(text: str, problems: list[Problem]) -> list[dict[str, Any]]:
    """Parse option lines ``value | English | 中文`` (labels optional), colours in turn."""
    options: list[dict[str, Any]] = []
    for index, line in enumerate(filter(None, (raw.strip() for raw in text.splitlines()[:500]))):
        parts = [part.strip() for part in line.split("|")]
        value = parts[0][:100]
        if not value:
            problems.append(_problem("options", "option_value", "required"))
            continue
        labels = {k: v for k, v in zip(("en", "zh-CN"), parts[1:3], strict=False) if v}
        option: dict[str, Any] = {"value": value, "color": COLOURS[index % len(COLOURS)]}
        if labels:
            option["label"] = labels
        options.append(option)
    if not options:
        problems.append(_problem("options", "options_required", "required"))
    return options


def field_definition(form: Mapping[str, str], types: list[str], entities: list[str]) -> dict[str, Any]:
    """Return a new field's definition from the add-field form; only the chosen type's options are read."""
    problems: list[Problem] = []
    name = _name(form, "name", "name", problems)
    kind = _text(form, "type", 40)
    if kind not in types:
        problems.append(_problem("type", "type_unknown", "enum"))
    field: dict[str, Any] = {"name": name, "type": kind}
    label = _labels(form, "label")
    if label:
        field["label"] = label
    if form.get("required") == "on":
        field["required"] = True
    if kind in OPTION_TYPES:
        field["options"] = _options(form.get("options") or "", problems)
    elif kind == "link":
        target = _text(form, "target", 60)
        if target not in entities:
            problems.append(_problem("target", "target_required", "required"))
        field["target"] = target
    elif kind == "currency":
        currency = _text(form, "currency", 3).upper() or "CNY"
        field["currency"] = currency
    if problems:
        raise MetadataInvalid(t("studio.err.form"), problems)
    return field
