"""The report builder's form: the pickers a user may choose from, and her choices read back as a report document.

Every picker offers only fields the user may see (hidden, masked and encrypted fields are left out), so a
report she builds never hits the runtime's refusal; a crafted request still does, with its message.
Dimensions and measures are one choice each (``field`` or ``field|bucket``; ``count`` or ``function|field``)
so the form needs no script to tie a bucket or a function to its field. A duration measure (mean time to
repair: the average time from one date to another) has a row of its own: function, from, to and unit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from crm_platform.i18n import t
from crm_platform.reporting.charts import CHART_TYPES
from crm_platform.reporting.reports import measure_label
from metamodel.access.fieldsecurity import field_access
from metamodel.errors import Problem
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.model import EntityModel
from metamodel.records.aggregate import ORG_UNIT, OWNER, Dimension, Measure
from metamodel.records.buckets import BUCKETS
from metamodel.records.hooks import Actor
from metamodel.records.measures import DURATION_FUNCTIONS, DURATION_UNITS

DIMENSION_SLOTS = ("dim1", "dim2")
MEASURE_SLOTS = ("m1", "m2", "m3")
FILTER_SLOTS = ("f1", "f2", "f3")
DURATION_SLOT = "dur"  # its form fields: dur_fn, dur_since, dur_field, dur_unit
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "startswith")
SYSTEM_DATES = ("created_at", "updated_at")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Choice:
    """One option of a picker."""

    value: str
    label: str


@dataclass
class Pickers:
    """What the builder offers on one entity: dimensions (in groups), measures, filter fields and the dates
    a duration may run between."""

    dimensions: list[tuple[str, list[Choice]]]
    measures: list[Choice]
    filters: list[Choice]
    dates: list[Choice] = field(default_factory=list)


@dataclass
class Built:
    """The builder's choices as a report document, and the form slot each query part came from."""

    doc: dict[str, Any]
    slots: dict[str, list[str]] = field(default_factory=dict)  # "dimensions" -> ["dim2"], ...
    errors: dict[str, str] = field(default_factory=dict)  # slot -> translated message


def seen_fields(conn: Connection, actor: Actor, model: EntityModel) -> list[Any]:
    """Return the entity's fields the user sees in clear (not hidden, masked or encrypted)."""
    rules = field_access(conn, actor, model)
    return [
        f
        for f in model.column_fields()
        if f.name in model.table.c
        and f.name not in model.seals
        and (f.name not in rules or rules[f.name].visible)
    ]


def pickers(model: EntityModel, registry: FieldTypeRegistry, fields: list[Any], locale: str) -> Pickers:
    """Return the builder's choices over ``fields`` (the ones the user sees) in her language."""
    plain = [Choice(f.name, f.label(locale)) for f in fields if _kind(registry, f) == "group"]
    plain += [Choice(OWNER, t("report.dim.owner")), Choice(ORG_UNIT, t("report.dim.org_unit"))]
    dates: list[Choice] = []
    temporal = [(f.name, f.label(locale)) for f in fields if _kind(registry, f) == "date"]
    temporal += [(name, t(f"report.dim.{name}")) for name in SYSTEM_DATES if name in model.table.c]
    for name, label in temporal:
        dates += [
            Choice(f"{name}|{unit}", t("report.dim.bucketed", field=label, unit=t(f"report.bucket.{unit}")))
            for unit in BUCKETS
        ]
    measures = [Choice("count", measure_label(model, Measure("count"), locale))]
    for f in fields:
        for function in registry.of(f).measures:
            measures.append(
                Choice(f"{function}|{f.name}", measure_label(model, Measure(function, f.name), locale))
            )
    filters = [Choice(f.name, f.label(locale)) for f in fields if registry.of(f).operators]
    groups = [(t("report.dim.fields"), plain), (t("report.dim.dates"), dates)]
    moments = [Choice(name, label) for name, label in temporal]
    return Pickers([(label, items) for label, items in groups if items], measures, filters, moments)


def _kind(registry: FieldTypeRegistry, definition: Any) -> str:
    field_type = registry.of(definition)
    if field_type.temporal:
        return "date"
    return "group" if field_type.groupable else ""


def _dimension(raw: str) -> Dimension:
    name, _, unit = raw.partition("|")
    return Dimension(name, unit or None)


def _measure(raw: str) -> Measure:
    function, _, name = raw.partition("|")
    return Measure(function, name or None)


def read_form(form: Mapping[str, str], entity: str) -> Built:
    """Read the builder's form into a report document on ``entity`` (the engine checks it when it runs)."""
    built = Built({"name": (form.get("name") or "").strip() or "preview", "entity": entity})
    query: dict[str, Any] = {}
    keys: dict[str, str] = {}
    dims = [(slot, _dimension(form[slot])) for slot in DIMENSION_SLOTS if (form.get(slot) or "").strip()]
    measures = [(slot, _measure(form[slot])) for slot in MEASURE_SLOTS if (form.get(slot) or "").strip()]
    query["dimensions"] = [{"field": d.field, "bucket": d.bucket} if d.bucket else d.field for _, d in dims]
    query["measures"] = [
        {"function": m.function, **({"field": m.field} if m.field else {})} for _, m in measures
    ]
    if not query["measures"]:
        query["measures"] = [{"function": "count"}]
    keys.update({slot: d.key for slot, d in dims})
    keys.update({slot: m.key for slot, m in measures})
    duration = _duration(form)
    if duration is not None:
        query["measures"].append(duration)
        keys[DURATION_SLOT] = Measure(
            duration["function"], duration["field"], duration["since"], duration["unit"]
        ).key
    filters, filter_slots = [], []
    for slot in FILTER_SLOTS:
        name = (form.get(f"{slot}_field") or "").strip()
        if name:
            op = form.get(f"{slot}_op") or "eq"
            filters.append(
                {
                    "field": name,
                    "op": op if op in OPERATORS else "eq",
                    "value": form.get(f"{slot}_value") or "",
                }
            )
            filter_slots.append(slot)
    if filters:
        query["filters"] = filters
    sort = (form.get("sort") or "").strip()
    if sort.lstrip("-") in keys:
        query["sort"] = [("-" if sort.startswith("-") else "") + keys[sort.lstrip("-")]]
    limit = (form.get("limit") or "").strip()
    if limit:
        if limit.isdigit() and 1 <= int(limit) <= 1000:
            query["limit"] = int(limit)
        else:
            built.errors["limit"] = t("report.problem.limit")
    chart = form.get("chart") or "table"
    built.doc["query"] = query
    built.doc["chart"] = {"type": chart if chart in CHART_TYPES else "table"}
    label = (form.get("label") or "").strip()
    if label:
        built.doc["label"] = {"en": label, "zh-CN": label}
    built.slots = {
        "dimensions": [s for s, _ in dims],
        "measures": ([s for s, _ in measures] or ["m1"]) + ([DURATION_SLOT] if duration else []),
        "filters": filter_slots,
    }
    return built


def _duration(form: Mapping[str, str]) -> dict[str, str] | None:
    """Return the duration measure of the form's duration row, or None when its function is left empty."""
    function = (form.get("dur_fn") or "").strip()
    if not function:
        return None
    unit = (form.get("dur_unit") or "").strip()
    return {
        "function": function if function in DURATION_FUNCTIONS else "avg",
        "field": (form.get("dur_field") or "").strip(),
        "since": (form.get("dur_since") or "").strip(),
        "unit": unit if unit in DURATION_UNITS else "hours",
    }


def check_naming(built: Built) -> None:
    """Add the save-only checks: a name the metadata accepts and a label."""
    name = str(built.doc.get("name") or "")
    if name == "preview":
        name = built.doc["name"] = _derived_name(built.doc.get("label"))
    if not NAME.match(name) or name == "preview":
        built.errors["name"] = t("report.problem.name")
    if not built.doc.get("label"):
        built.errors["label"] = t("report.problem.label")


def _derived_name(label: Any) -> str:
    """Make a report name from its label: ascii words joined by "_", else "report_" and a short hash."""
    text = str(label.get("en") if isinstance(label, dict) else label or "")
    words = re.findall(r"[a-z0-9]+", text.lower())
    name = "_".join(words)[:40].strip("_")
    if NAME.match(name) and name != "preview":
        return name
    return "report_" + hashlib.sha1(text.encode()).hexdigest()[:8]


_PATH = re.compile(r"\.(dimensions|measures|filters)\[(\d+)\]")


def place_problems(built: Built, problems: list[Problem]) -> None:
    """Put the engine's problems next to the form slot they are about, in the reader's language."""
    for problem in problems:
        slot = "general"
        found = _PATH.search(problem.path)
        if found and int(found.group(2)) < len(built.slots.get(found.group(1), [])):
            slot = built.slots[found.group(1)][int(found.group(2))]
        elif ".sort" in problem.path:
            slot = "sort"
        elif ".limit" in problem.path:
            slot = "limit"
        elif "__" in problem.path and built.slots.get("filters"):
            slot = _filter_slot(built, problem.path.split("__")[0])
        text = t(f"report.problem.{problem.code}")
        if text == f"report.problem.{problem.code}":
            text = t("report.problem.other")
        built.errors.setdefault(slot, f"{text} ({problem.message})")


def _filter_slot(built: Built, name: str) -> str:
    filters = built.doc["query"].get("filters") or []
    for index, item in enumerate(filters):
        if item["field"] == name and index < len(built.slots["filters"]):
            return built.slots["filters"][index]
    return "general"


def form_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """Return a saved report document as the builder's form values (to edit it)."""
    query = doc.get("query") or {}
    values: dict[str, str] = {
        "name": str(doc.get("name") or ""),
        "chart": str((doc.get("chart") or {}).get("type") or "table"),
    }
    label = doc.get("label")
    values["label"] = (
        str(label.get("en") or next(iter(label.values()), ""))
        if isinstance(label, dict)
        else str(label or "")
    )
    keys: dict[str, str] = {}
    for slot, raw in zip(DIMENSION_SLOTS, query.get("dimensions") or [], strict=False):
        item = {"field": raw} if isinstance(raw, str) else raw
        values[slot] = f"{item['field']}|{item['bucket']}" if item.get("bucket") else str(item["field"])
        keys[Dimension(str(item["field"]), item.get("bucket")).key] = slot
    measures = query.get("measures") or []
    plain = [m for m in measures if not m.get("since")]
    for slot, raw in zip(MEASURE_SLOTS, plain, strict=False):
        values[slot] = f"{raw['function']}|{raw['field']}" if raw.get("field") else str(raw["function"])
        keys[Measure(str(raw["function"]), raw.get("field")).key] = slot
    for raw in [m for m in measures if m.get("since")][:1]:
        unit = str(raw.get("unit") or "hours")
        values.update(
            {
                "dur_fn": str(raw["function"]),
                "dur_field": str(raw["field"]),
                "dur_since": str(raw["since"]),
                "dur_unit": unit,
            }
        )
        keys[Measure(str(raw["function"]), str(raw["field"]), str(raw["since"]), unit).key] = DURATION_SLOT
    for slot, raw in zip(FILTER_SLOTS, query.get("filters") or [], strict=False):
        values.update(
            {
                f"{slot}_field": str(raw["field"]),
                f"{slot}_op": str(raw.get("op", "eq")),
                f"{slot}_value": str(raw.get("value") or ""),
            }
        )
    for item in (query.get("sort") or [])[:1]:
        chosen = keys.get(str(item).lstrip("-"))
        if chosen:
            values["sort"] = ("-" if str(item).startswith("-") else "") + chosen
    if query.get("limit"):
        values["limit"] = str(query["limit"])
    return values
