"""Run a report document for the signed-in user: her row scope, labels in her language, drill-down filters."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import select

from crm_platform.i18n import current_locale
from crm_platform.reporting.acting import actor
from crm_platform.reporting.drill import drill_args
from crm_platform.reporting.personal import personal_docs
from metamodel.access.enforcement import require_configure
from metamodel.access.errors import AccessDenied
from metamodel.access.grants import held_roles
from metamodel.errors import NotFound
from metamodel.model import EntityModel
from metamodel.records.aggregate import ORG_UNIT, OWNER, AggregateResult
from metamodel.records.runtime import RecordRuntime
from metamodel.reportdocs import report_query
from metamodel.systables import org_units, users


def cell_text(row: dict[str, Any], column: dict[str, Any]) -> str:
    """Return a result cell as text: a dimension's label, else its value."""
    key = column["key"]
    value = row.get(f"{key}__label", row.get(key))
    return "" if value is None else str(value)


def find_report(runtime: RecordRuntime, name: str) -> dict[str, Any]:
    """Return the report called ``name`` the user may see: a shared one, else one of her personal ones."""
    doc = runtime.model.bundle.docs("report").get(name)
    if doc is not None and may_see(runtime, doc):
        return dict(doc)
    mine = personal_docs(runtime.engine, int(actor().user_id or 0)).get(name)
    if mine is None or str(mine.get("entity")) not in runtime.model.entities:
        raise NotFound(f"no report '{name[:40]}'")
    return mine


def visible_reports(runtime: RecordRuntime) -> list[dict[str, Any]]:
    """Return the shared reports the user may see and her personal ones, by name."""
    shared = {n: dict(d) for n, d in runtime.model.bundle.docs("report").items() if may_see(runtime, d)}
    mine = personal_docs(runtime.engine, int(actor().user_id or 0))
    found = {**{n: d for n, d in mine.items() if str(d.get("entity")) in runtime.model.entities}, **shared}
    return [found[n] for n in sorted(found)]


def may_see(runtime: RecordRuntime, doc: dict[str, Any]) -> bool:
    """Whether the signed-in user may see a report or dashboard: one of its roles, or she may configure."""
    roles = set(doc.get("roles") or [])
    if not roles or getattr(current_user, "is_admin", False):
        return True
    who = actor()
    with runtime.engine.connect() as conn:
        if roles & held_roles(conn, int(who.user_id or 0), runtime.clock()):
            return True
        try:
            require_configure(conn, who)
        except AccessDenied:
            return False
        return True


def site_zone(runtime: RecordRuntime) -> str:
    """Return the site's time zone name (a site setting; reports bucket dates and periods in it)."""
    return runtime.model.time_zone.key


def run_report(runtime: RecordRuntime, doc: dict[str, Any]) -> dict[str, Any]:
    """Run a report document for the signed-in user and return its labelled result."""
    zone = site_zone(runtime)
    query = report_query(runtime.model, doc, zone)
    result = runtime.aggregate(str(doc["entity"]), query, actor())
    model = runtime.model.entity(str(doc["entity"]))
    locale = current_locale()
    rows = [plain(row) for row in result.rows]
    _add_labels(runtime, model, result, rows, locale)
    for row in rows:
        row["drill"] = drill_args(model, doc, result.dimensions, row, zone)
    return {
        "report": doc["name"],
        "entity": doc["entity"],
        "chart": doc.get("chart") or {"type": "table"},
        "columns": _columns(model, result, doc, locale),
        "rows": rows,
        "truncated": result.truncated,
        "time_zone": zone,
    }


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """Return a result row with JSON-ready values (decimals as numbers, dates as ISO text)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(round(value, 4))
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


def _columns(
    model: EntityModel, result: AggregateResult, doc: dict[str, Any], locale: str
) -> list[dict[str, Any]]:
    columns = []
    for dimension in result.dimensions:
        if dimension.field in (OWNER, ORG_UNIT):
            label = {
                "owner": {"en": "Owner", "zh-CN": "负责人"},
                "org_unit": {"en": "Org unit", "zh-CN": "组织"},
            }[dimension.field][locale if locale == "zh-CN" else "en"]
        else:
            definition = model.fields.get(dimension.field)
            label = definition.label(locale) if definition is not None else dimension.field
        columns.append(
            {"key": dimension.key, "label": label, "kind": "dimension", "bucket": dimension.bucket}
        )
    labels = [m.get("label") for m in (doc.get("query") or {}).get("measures") or []]
    for index, measure in enumerate(result.measures):
        given = text_of(labels[index], locale) if index < len(labels) else None
        columns.append(
            {
                "key": measure.key,
                "label": given or measure_label(model, measure, locale),
                "kind": "measure",
                "field": None if measure.since else measure.field,
                "function": measure.function,
            }
        )
    return columns


_FUNCTION_WORDS = {
    "en": {
        "count": "Count",
        "sum": "Sum of",
        "avg": "Average",
        "min": "Minimum",
        "max": "Maximum",
        "count_distinct": "Distinct",
    },
    "zh-CN": {
        "count": "数量",
        "sum": "合计",
        "avg": "平均",
        "min": "最小",
        "max": "最大",
        "count_distinct": "不同值数",
    },
}


_DURATION_WORDS = {
    "en": {"avg": "Average time", "sum": "Total time", "min": "Shortest time", "max": "Longest time"},
    "zh-CN": {"avg": "平均时长", "sum": "总时长", "min": "最短时长", "max": "最长时长"},
}
_UNIT_WORDS = {
    "en": {"minutes": "minutes", "hours": "hours", "days": "days"},
    "zh-CN": {"minutes": "分钟", "hours": "小时", "days": "天"},
}


def measure_label(model: EntityModel, measure: Any, locale: str) -> str:
    """Return a measure's default label: "Sum of Amount", "金额合计", "Average time from A to B (hours)"."""
    language = "zh-CN" if locale == "zh-CN" else "en"
    words = _FUNCTION_WORDS[language]
    if measure.field is None:
        return words["count"]
    field_label = _field_label(model, measure.field, locale)
    if getattr(measure, "since", None):
        since = _field_label(model, measure.since, locale)
        what, unit = _DURATION_WORDS[language][measure.function], _UNIT_WORDS[language][measure.unit]
        if language == "zh-CN":
            return f"{since}至{field_label}{what}（{unit}）"
        return f"{what} from {since} to {field_label} ({unit})"
    return (
        f"{field_label}{words[measure.function]}"
        if language == "zh-CN"
        else f"{words[measure.function]} {field_label}"
    )


def _field_label(model: EntityModel, name: str, locale: str) -> str:
    """A field's label, the system dates' words ("Created"), else the name."""
    definition = model.fields.get(name)
    if definition is not None:
        return definition.label(locale)
    system = {"created_at": ("Created", "创建时间"), "updated_at": ("Last changed", "修改时间")}
    if name in system:
        return system[name][1 if locale == "zh-CN" else 0]
    return name


def _add_labels(
    runtime: RecordRuntime,
    model: EntityModel,
    result: AggregateResult,
    rows: list[dict[str, Any]],
    locale: str,
) -> None:
    """Give each dimension value its human label (option label, record title, user or unit name)."""
    for dimension in result.dimensions:
        key = dimension.key
        values = {row[key] for row in rows if row[key] is not None}
        names: dict[Any, str] = {}
        if dimension.field == OWNER and values:
            names = _names(runtime, users.c.id, users.c.display_name, values, users.c.username)
        elif dimension.field == ORG_UNIT and values:
            names = _unit_names(runtime, values, locale)
        elif dimension.field in model.fields:
            definition = model.fields[dimension.field]
            if definition.type == "select":
                for option in definition.get("options") or []:
                    names[option["value"]] = text_of(option.get("label"), locale) or str(option["value"])
            elif definition.type == "link" and values:
                names = dict(runtime.titles(str(definition.get("target")), sorted(values), actor=actor()))
            elif definition.type == "boolean":
                names = {
                    True: "是" if locale == "zh-CN" else "Yes",
                    False: "否" if locale == "zh-CN" else "No",
                }
        empty = "（空）" if locale == "zh-CN" else "(empty)"
        for row in rows:
            value = row[key]
            row[f"{key}__label"] = empty if value is None else names.get(value, str(value))


def _names(
    runtime: RecordRuntime, id_col: Any, name_col: Any, ids: Iterable[Any], fallback: Any = None
) -> dict[Any, str]:
    columns = [id_col, name_col] + ([fallback] if fallback is not None else [])
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(*columns).where(id_col.in_(list(ids)))).all()
    return {row[0]: str(row[1] or (row[2] if len(row) > 2 else "") or f"#{row[0]}") for row in rows}


def _unit_names(runtime: RecordRuntime, ids: Iterable[Any], locale: str) -> dict[Any, str]:
    """Org units by their label in the reader's language (their code name when they have none)."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(org_units.c.id, org_units.c.label, org_units.c.name).where(org_units.c.id.in_(list(ids)))
        ).all()
    return {row.id: text_of(row.label, locale) or str(row.name) for row in rows}


def text_of(labels: Any, locale: str) -> str | None:
    """Return a label in ``locale`` (then English, then any) from an inline labels object."""
    if isinstance(labels, str):
        return labels
    if isinstance(labels, dict):
        return labels.get(locale) or labels.get("en") or next(iter(labels.values()), None)
    return None
