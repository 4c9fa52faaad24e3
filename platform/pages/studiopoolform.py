"""The studio's lead-pool form turned into an entity's ``pool`` settings (see metamodel.pool.config):
fields hidden until claimed, the claim limit, and the automatic return after N days without follow-up
unless a condition holds, the condition checked by the rule engine (it must have an SQL form: the
periodic return judges it in the database)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from crm_platform.i18n import t
from crm_platform.pages.studioexpr import check_expression, draft_site
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import text
from crm_platform.services import services
from metamodel.errors import Problem
from metamodel.pool.config import FOLLOW_UP_TYPES

MAX_DAYS = 3650
MAX_CLAIMS = 100000


def contact_choices(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Fields that may be hidden from pool browsers: those with a value of their own, not the title."""
    registry = services().field_types
    found = []
    for field in doc.get("fields") or []:
        name, kind = field.get("name"), field.get("type")
        if name == doc.get("title_field") or kind not in registry:
            continue
        if registry.get(str(kind)).has_column:
            found.append((str(name), label_of(field, str(name))))
    return found


def follow_up_choices(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Date and date-time fields that can say when a record was last followed up."""
    return [
        (str(f["name"]), label_of(f, str(f["name"])))
        for f in doc.get("fields") or []
        if f.get("type") in FOLLOW_UP_TYPES
    ]


def _whole(form: Mapping[str, str], key: str, top: int, problems: list[Problem]) -> int | None:
    raw = text(form, key, 12)
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        problems.append(Problem(key, t("studio.pool.err.whole", top=top), "range"))
        return None
    return int(raw)


def pool_settings(
    form: MultiDict[str, str], name: str, doc: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Return the ``pool`` settings the form asks for (None: no pool) and the problems, by form field."""
    if form.get("enabled") != "on":
        return None, []
    problems: list[Problem] = []
    pool: dict[str, Any] = {}
    allowed = {name for name, _ in contact_choices(doc)}
    hidden = [field[:63] for field in form.getlist("contact_fields")][:30]
    if any(field not in allowed for field in hidden):
        problems.append(Problem("contact_fields", t("studio.pool.err.contact"), "reference"))
    if hidden:
        pool["contact_fields"] = sorted(set(hidden) & allowed, key=hidden.index)
    limit = _whole(form, "claim_limit", MAX_CLAIMS, problems)
    if limit is not None:
        pool["claim_limit"] = limit
    days = _whole(form, "return_after_days", MAX_DAYS, problems)
    follow_up = text(form, "follow_up_field", 63)
    unless = text(form, "return_unless", 2000)
    if days is not None:
        pool["return_after_days"] = days
    elif (follow_up or unless) and not any(p.path == "return_after_days" for p in problems):
        problems.append(Problem("return_after_days", t("studio.pool.err.days_first"), "required"))
    if follow_up:
        if follow_up not in {name for name, _ in follow_up_choices(doc)}:
            problems.append(Problem("follow_up_field", t("studio.pool.err.follow_up"), "reference"))
        pool["follow_up_field"] = follow_up
    if unless:
        verdict = check_expression(draft_site(), name, unless, "sql_condition")
        if not verdict["ok"]:
            problems.append(Problem("return_unless", str(verdict["message"]), "expression"))
        pool["return_unless"] = unless
    return pool, problems


__all__ = ["contact_choices", "follow_up_choices", "pool_settings"]
