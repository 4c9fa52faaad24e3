"""Publish-time checks of trigger documents: event settings, schedules, conditions and actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metamodel.documents import check_against
from metamodel.errors import Problem
from metamodel.model import SiteModel
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, compatible
from rule_engine.triggers.cron import parse_cron
from rule_engine.triggers.spec import TriggerSpec, workflow_of

_TIME_TYPES = ("date", "datetime")


def expression_problem(exc: Exception, path: str) -> Problem:
    """Turn an expression error into a problem that names where in the text it is."""
    message = str(getattr(exc, "message", "") or exc)
    position = getattr(exc, "position", None)
    if position is not None and "position" not in message:
        message = f"{message} (at position {position})"
    return Problem(path, message, "expression")


def compile_problem(rules: RuleEngine, site: SiteModel, entity: str, text: str, path: str) -> Problem | None:
    """Compile an expression; return the problem when it does not compile."""
    try:
        shared_expressions(rules.functions).compile(site, entity, text)
    except Exception as exc:
        return expression_problem(exc, path)
    return None


def condition_type_problem(
    rules: RuleEngine, site: SiteModel, entity: str, text: str, path: str
) -> Problem | None:
    """Return the problem of a condition whose result is not true or false (a number never 'holds')."""
    compiled = shared_expressions(rules.functions).compile(site, entity, text)
    if compatible(compiled.result_type, BOOLEAN):
        return None
    return Problem(path, f"a condition must be true or false, not a {compiled.result_type}", "expression")


def check_trigger(doc: Mapping[str, Any], site: SiteModel, rules: RuleEngine, prefix: str) -> list[Problem]:
    """Return every problem of one trigger document against a compiled site."""
    spec = TriggerSpec.from_doc(doc)
    if spec.entity not in site.entities:
        return [Problem(f"{prefix}.entity", f"entity '{spec.entity}' does not exist", "reference")]
    problems = _check_event(spec, site, prefix) + _check_schedule(spec, site, prefix)
    if spec.condition:
        if not spec.needs_record:
            problems.append(
                Problem(
                    f"{prefix}.condition",
                    "a cron trigger with each_record false has no record to test",
                    "invalid",
                )
            )
        else:
            problem = compile_problem(rules, site, spec.entity, spec.condition, f"{prefix}.condition")
            problem = problem or condition_type_problem(
                rules, site, spec.entity, spec.condition, f"{prefix}.condition"
            )
            if problem:
                problems.append(problem)
    for index, config in enumerate(spec.actions):
        problems += _check_action(spec, dict(config), site, rules, f"{prefix}.actions[{index}]")
    return problems


def _check_event(spec: TriggerSpec, site: SiteModel, prefix: str) -> list[Problem]:
    problems: list[Problem] = []
    entity = site.entity(spec.entity)
    if spec.changed_fields and spec.event != "update":
        problems.append(
            Problem(f"{prefix}.changed_fields", "only update triggers watch changed fields", "invalid")
        )
    for index, name in enumerate(spec.changed_fields):
        field = entity.fields.get(name)
        if field is not None and not entity.types[name].has_column:
            problems.append(
                Problem(
                    f"{prefix}.changed_fields[{index}]",
                    f"'{name}' has no value of its own to compare",
                    "invalid",
                )
            )
    if spec.transition and spec.event != "transition":
        problems.append(
            Problem(f"{prefix}.transition", "only transition triggers name a transition", "invalid")
        )
    if spec.event == "transition":
        workflow = workflow_of(site, spec.entity)
        if workflow is None:
            problems.append(
                Problem(f"{prefix}.event", f"entity '{spec.entity}' has no workflow", "reference")
            )
        elif spec.transition and spec.transition not in {t["name"] for t in workflow.get("transitions", [])}:
            problems.append(
                Problem(
                    f"{prefix}.transition",
                    f"workflow '{workflow['name']}' has no transition '{spec.transition}'",
                    "reference",
                )
            )
    if spec.event != "time" and spec.schedule is not None:
        problems.append(Problem(f"{prefix}.schedule", "only time triggers have a schedule", "invalid"))
    return problems


def _check_schedule(spec: TriggerSpec, site: SiteModel, prefix: str) -> list[Problem]:
    if spec.event != "time":
        return []
    path = f"{prefix}.schedule"
    schedule = spec.schedule
    if schedule is None:
        return [Problem(path, "a time trigger needs relative_to, state or cron", "invalid")]
    given = [key for key in ("relative_to", "state", "cron") if getattr(schedule, key)]
    if len(given) > 1:
        return [
            Problem(path, f"give only one of relative_to, state and cron (got {', '.join(given)})", "invalid")
        ]
    entity = site.entity(spec.entity)
    problems: list[Problem] = []
    if schedule.kind == "relative":
        field = entity.fields.get(str(schedule.relative_to))
        if field is None:
            problems.append(
                Problem(f"{path}.relative_to", f"unknown field '{schedule.relative_to}'", "reference")
            )
        elif field.type not in _TIME_TYPES:
            problems.append(
                Problem(
                    f"{path}.relative_to",
                    f"'{field.name}' is a {field.type} field, not a date or datetime",
                    "invalid",
                )
            )
    elif schedule.kind == "in_state":
        workflow = workflow_of(site, spec.entity)
        if workflow is None:
            problems.append(Problem(f"{path}.state", f"entity '{spec.entity}' has no workflow", "reference"))
        elif schedule.state not in {s["name"] for s in workflow.get("states", [])}:
            problems.append(
                Problem(
                    f"{path}.state",
                    f"workflow '{workflow['name']}' has no state '{schedule.state}'",
                    "reference",
                )
            )
        if schedule.in_state_hours <= 0:
            problems.append(
                Problem(f"{path}.in_state_hours", "give the hours in state, more than 0", "invalid")
            )
    else:
        try:
            parse_cron(str(schedule.cron), schedule.zone_name(site))
        except ValueError as exc:
            key = "timezone" if "time zone" in str(exc) else "cron"
            problems.append(Problem(f"{path}.{key}", str(exc), "invalid"))
    if schedule.kind != "relative" and schedule.offset_hours:
        problems.append(
            Problem(f"{path}.offset_hours", "offset_hours only applies with relative_to", "invalid")
        )
    return problems


def _check_action(
    spec: TriggerSpec, config: dict[str, Any], site: SiteModel, rules: RuleEngine, path: str
) -> list[Problem]:
    kind = str(config.get("type"))
    if kind not in rules.actions:
        known = ", ".join(sorted(rules.actions.names())) or "none"
        return [
            Problem(f"{path}.type", f"unknown action type '{kind}'; known types: {known}", "unknown_type")
        ]
    action = rules.actions.get(kind)
    settings = {key: value for key, value in config.items() if key != "type"}
    problems = check_against(action.schema, settings, path)
    if problems:
        return problems
    for key, message in action.check(config, site, spec.entity):
        problems.append(Problem(f"{path}.{key}" if key else path, message, "invalid"))
    expressions = getattr(action, "expressions", None)
    for key, text, entity in expressions(config, spec.entity) if expressions else ():
        problem = compile_problem(rules, site, entity, text, f"{path}.{key}")
        if problem:
            problems.append(problem)
    sql_expressions = getattr(action, "sql_expressions", None)
    for key, text, entity in sql_expressions(config, spec.entity) if sql_expressions else ():
        if not any(p.path == f"{path}.{key}" for p in problems) and _untranslatable(
            rules, site, entity, text
        ):
            problems.append(
                Problem(f"{path}.{key}", "must be a condition the database can evaluate", "expression")
            )
    needs_source = getattr(action, "needs_source", None)
    if needs_source is not None and needs_source(config):
        if spec.event == "delete":
            problems.append(Problem(path, f"a {kind} action cannot act on a deleted record", "invalid"))
        elif not spec.needs_record:
            problems.append(Problem(path, f"a {kind} action needs a record; set each_record", "invalid"))
    return problems


def _untranslatable(rules: RuleEngine, site: SiteModel, entity: str, text: str) -> bool:
    try:
        return shared_expressions(rules.functions).to_sql(site, entity, text, rules.clock()) is None
    except Exception:
        return True
