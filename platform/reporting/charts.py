"""What a report's chart draws: categories, series and each point's drill-down link, for ECharts in the page."""

from __future__ import annotations

from typing import Any

from flask import url_for

from crm_platform.i18n import current_locale

CHART_TYPES = ("table", "bar", "line", "pie", "funnel", "number")


def drill_url(entity: str, args: dict[str, str] | None) -> str | None:
    """Return the record list URL filtered to a result row's records (None when it cannot be expressed)."""
    if args is None:
        return None
    values: dict[str, Any] = dict(args)
    return url_for("pages.record_list", entity=entity, **values)


def chart_spec(result: dict[str, Any]) -> dict[str, Any]:
    """Return the data of a report result's chart: categories, series of values and links per point."""
    chart = result.get("chart") or {}
    dims = [c for c in result["columns"] if c["kind"] == "dimension"]
    measures = [c for c in result["columns"] if c["kind"] == "measure"]
    rows = result["rows"]
    entity = str(result["entity"])
    spec: dict[str, Any] = {
        "type": chart.get("type", "table"),
        "stacked": bool(chart.get("stacked")),
        "horizontal": bool(chart.get("horizontal")),
        "locale": current_locale(),
        "categories": [],
        "series": [],
    }
    if not measures:
        return spec
    if not dims:
        value = rows[0][measures[0]["key"]] if rows else None
        spec["series"] = [{"name": measures[0]["label"], "values": [value], "links": [None]}]
        return spec
    first = dims[0]["key"]
    categories = _distinct(rows, first)
    spec["categories"] = [label for _, label in categories]
    index = {value: i for i, (value, _) in enumerate(categories)}
    if len(dims) == 1:
        for measure in measures:
            values: list[Any] = [None] * len(categories)
            links: list[str | None] = [None] * len(categories)
            for row in rows:
                values[index[row[first]]] = row[measure["key"]]
                links[index[row[first]]] = drill_url(entity, row.get("drill"))
            spec["series"].append({"name": measure["label"], "values": values, "links": links})
        return spec
    second, key = dims[1]["key"], measures[0]["key"]
    for value, label in _distinct(rows, second):
        values = [None] * len(categories)
        links = [None] * len(categories)
        for row in rows:
            if row[second] == value:
                values[index[row[first]]] = row[key]
                links[index[row[first]]] = drill_url(entity, row.get("drill"))
        spec["series"].append({"name": label, "values": values, "links": links})
    return spec


def _distinct(rows: list[dict[str, Any]], key: str) -> list[tuple[Any, str]]:
    seen: dict[Any, str] = {}
    for row in rows:
        seen.setdefault(row[key], str(row.get(f"{key}__label", row[key])))
    return list(seen.items())
