"""The rule builder's trigger form: posted form fields to a trigger document (and back to what the form
shows). Actions are built from per-type fields, never typed as JSON; a plugin's action type the form does
not know is kept as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_platform.i18n import t
from metamodel.errors import Problem
from metamodel.model import EntityModel, SiteModel
from rule_engine.expressions.types import BOOLEAN, FIELD_TYPE_TYPES, LIST, NUMBER

ACTION_TYPES = ("set_fields", "create_record", "assign_owner", "notify", "webhook", "transition")
EVENTS = ("create", "update", "delete", "transition", "time")
SCHEDULES = ("relative", "in_state", "cron")
MAX_ACTIONS, VALUE_ROWS = 10, 3
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TRUE = {"true", "yes", "1", "on", "是", "真"}
_FALSE = {"false", "no", "0", "off", "否", "假"}


def text(form: Mapping[str, str], key: str, limit: int = 200) -> str:
    """One posted text, trimmed and bounded."""
    return (form.get(key) or "").strip()[:limit]


def _number(raw: str, key: str, problems: list[Problem]) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(Problem(key, t("studio.rules.err.number"), "type"))
        return None
    return int(value) if value.is_integer() else value


def literal(raw: str, kind: str, key: str, problems: list[Problem]) -> Any:
    """A typed value for a field of expression type ``kind`` from what the admin typed."""
    if raw == "":
        return None
    if kind == NUMBER:
        return _number(raw, key, problems)
    if kind == BOOLEAN:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        problems.append(Problem(key, t("studio.rules.err.boolean"), "type"))
        return None
    if kind == LIST:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def shown(value: Any) -> str:
    """A literal as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _values(
    form: Mapping[str, str], prefix: str, model: EntityModel | None, problems: list[Problem]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for row in range(MAX_ACTIONS * 3):
        field = text(form, f"{prefix}{row}-field", 63)
        if f"{prefix}{row}-field" not in form:
            break
        if not field:
            continue
        raw = text(form, f"{prefix}{row}-value", 2000)
        if form.get(f"{prefix}{row}-expr") == "on":
            if not raw:
                problems.append(Problem(f"{prefix}{row}-value", t("studio.rules.err.expression"), "required"))
            values[field] = {"expr": raw or "null"}
            continue
        definition = model.fields.get(field) if model is not None else None
        kind = FIELD_TYPE_TYPES.get(definition.type, "string") if definition is not None else "string"
        values[field] = literal(raw, kind, f"{prefix}{row}-value", problems)
    return values


@dataclass(frozen=True)
class _Ctx:
    site: SiteModel
    entity: str
    problems: list[Problem]


def _listed(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _optional(action: dict[str, Any], form: Mapping[str, str], key: str, names: tuple[str, ...]) -> None:
    for name in names:
        if text(form, f"{key}{name}", 2000):
            action[name] = text(form, f"{key}{name}", 2000)


def _set_fields(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["values"] = _values(form, f"{key}v", ctx.site.entities.get(ctx.entity), ctx.problems)
    if not action["values"]:
        ctx.problems.append(Problem(f"{key}v0-field", t("studio.rules.err.values"), "required"))


def _create_record(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["entity"] = text(form, f"{key}entity", 100)
    _optional(action, form, key, ("link_field",))
    values = _values(form, f"{key}c", ctx.site.entities.get(action["entity"]), ctx.problems)
    if values:
        action["values"] = values


def _assign_owner(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["mode"] = text(form, f"{key}mode", 20) or "round_robin"
    _optional(action, form, key, ("user", "team", "team_field", "role", "unit_field", "open_condition"))
    if form.get(f"{key}include_subunits") == "on":
        action["include_subunits"] = True


def _notify(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["to"] = _listed(text(form, f"{key}to", 1000)) or ["owner"]
    action["subject"] = text(form, f"{key}subject", 1000) or t("studio.rules.default_subject")
    _optional(action, form, key, ("body",))
    action["email"] = form.get(f"{key}email") == "on"


def _webhook(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["url"] = text(form, f"{key}url", 2000)
    _optional(action, form, key, ("secret",))
    if _listed(text(form, f"{key}fields", 2000)):
        action["fields"] = _listed(text(form, f"{key}fields", 2000))


def _transition(action: dict[str, Any], form: Mapping[str, str], key: str, ctx: _Ctx) -> None:
    action["transition"] = text(form, f"{key}transition", 40)
    _optional(action, form, key, ("comment",))


_BUILDERS: dict[str, Callable[[dict[str, Any], Mapping[str, str], str, _Ctx], None]] = {
    "set_fields": _set_fields,
    "create_record": _create_record,
    "assign_owner": _assign_owner,
    "notify": _notify,
    "webhook": _webhook,
    "transition": _transition,
}


def action_of(
    form: Mapping[str, str], index: int, site: SiteModel, entity: str, problems: list[Problem]
) -> dict[str, Any] | None:
    """The action in slot ``index`` of the form, or None for an empty or removed slot."""
    key = f"a{index}-"
    kind = text(form, f"{key}type", 40)
    if not kind or form.get(f"{key}remove") == "on":
        return None
    builder = _BUILDERS.get(kind)
    if builder is None:  # a plugin's action type: kept as it was loaded
        try:
            kept = json.loads(form.get(f"{key}keep") or "")
        except ValueError:
            kept = None
        return kept if isinstance(kept, dict) and kept.get("type") == kind else None
    action: dict[str, Any] = {"type": kind}
    builder(action, form, key, _Ctx(site, entity, problems))
    return action


def _schedule(form: Mapping[str, str], problems: list[Problem]) -> dict[str, Any]:
    kind = text(form, "schedule", 20)
    if kind == "relative":
        schedule: dict[str, Any] = {"relative_to": text(form, "relative_to", 63)}
        schedule["offset_hours"] = _number(text(form, "offset_hours", 20), "offset_hours", problems) or 0
    elif kind == "in_state":
        schedule = {"state": text(form, "state", 100)}
        hours = _number(text(form, "in_state_hours", 20), "in_state_hours", problems)
        schedule["in_state_hours"] = hours if hours is not None else 24
    else:
        schedule = {"cron": text(form, "cron", 100)}
        if text(form, "timezone", 64):
            schedule["timezone"] = text(form, "timezone", 64)
    return schedule


def trigger_of(form: Mapping[str, str], site: SiteModel, entity: str) -> tuple[dict[str, Any], list[Problem]]:
    """Return the trigger document the form describes and the problems of what was typed."""
    problems: list[Problem] = []
    name = text(form, "name", 40)
    if not NAME.match(name):
        problems.append(Problem("name", t("studio.err.name_format"), "pattern"))
    event = text(form, "event", 20)
    doc: dict[str, Any] = {"name": name, "entity": entity, "event": event if event in EVENTS else "update"}
    labels = {"en": text(form, "label_en"), "zh-CN": text(form, "label_zh")}
    if any(labels.values()):
        doc["label"] = {k: v for k, v in labels.items() if v}
    doc["enabled"] = form.get("enabled") == "on"
    if doc["event"] == "update":
        changed = [n for n in form.getlist("changed_fields") if n] if hasattr(form, "getlist") else []
        if changed:
            doc["changed_fields"] = changed[:100]
    if doc["event"] == "transition" and text(form, "transition", 40):
        doc["transition"] = text(form, "transition", 40)
    if text(form, "condition", 2000):
        doc["condition"] = text(form, "condition", 2000)
    if doc["event"] == "time":
        doc["schedule"] = _schedule(form, problems)
    actions = [action_of(form, i, site, entity, problems) for i in range(MAX_ACTIONS)]
    doc["actions"] = [a for a in actions if a is not None]
    if not doc["actions"]:
        problems.append(Problem("a0-type", t("studio.rules.err.no_action"), "required"))
    return doc, problems


def schedule_kind(doc: Mapping[str, Any]) -> str:
    """Which of the three schedule forms a trigger document uses (in_state for a new one)."""
    schedule = doc.get("schedule") or {}
    if schedule.get("cron"):
        return "cron"
    if schedule.get("relative_to"):
        return "relative"
    return "in_state"


def action_slots(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The action slots the form shows: each action, then two empty slots to add more."""
    slots = []
    for action in list(doc.get("actions") or [])[: MAX_ACTIONS - 1]:
        values = action.get("values") or {}
        rows = [
            {
                "field": name,
                "value": v.get("expr") if isinstance(v, dict) else shown(v),
                "expr": isinstance(v, dict),
            }
            for name, v in values.items()
        ]
        rows += [{"field": "", "value": "", "expr": False}] * VALUE_ROWS
        slots.append({"action": action, "rows": rows, "known": action.get("type") in ACTION_TYPES})
    empty = [{"field": "", "value": "", "expr": False}] * VALUE_ROWS
    spare = min(2, MAX_ACTIONS - len(slots))
    slots += [{"action": {"type": ""}, "rows": empty, "known": True}] * spare
    return slots


__all__ = [
    "ACTION_TYPES",
    "EVENTS",
    "SCHEDULES",
    "action_slots",
    "literal",
    "schedule_kind",
    "shown",
    "trigger_of",
]
