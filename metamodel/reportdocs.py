"""Cross-checks of report documents against the entities they count: fields, types and buckets."""

from __future__ import annotations

from metamodel.definitions import Bundle
from metamodel.errors import BadQuery, Problem
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.model import SiteModel
from metamodel.records.aggregate import AggregateQuery, parse_aggregate


def check_reports(bundle: Bundle, registry: FieldTypeRegistry) -> list[Problem]:
    """Return the problems of every report in ``bundle`` (unknown entity, fields, measures, buckets)."""
    reports = bundle.docs("report")
    if not reports:
        return []
    site = SiteModel(0, bundle, registry)
    problems: list[Problem] = []
    for name, doc in reports.items():
        prefix = f"report.{name}"
        entity = str(doc.get("entity"))
        if entity not in bundle.docs("entity"):
            problems.append(Problem(f"{prefix}.entity", f"unknown entity '{entity}'", "reference"))
            continue
        try:
            report_query(site, doc)
        except BadQuery as exc:
            problems += exc.problems
    return problems


def report_query(site: SiteModel, doc: dict[str, object], time_zone: str | None = None) -> AggregateQuery:
    """Return the aggregate query of a report document on ``site``; BadQuery names problems by path.

    Date buckets count days in ``time_zone``, by default the site's.
    """
    spec = dict(doc.get("query") or {})  # type: ignore[call-overload]
    spec["time_zone"] = time_zone or site.time_zone.key
    model = site.entity(str(doc["entity"]))
    return parse_aggregate(model, site.registry, spec, param=f"report.{doc['name']}.query")
