"""Publish-time checks of workflow documents: states, transitions, roles, guards and actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metamodel.errors import Problem
from metamodel.model import SiteModel
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import shared_expressions
from rule_engine.expressions.types import BOOLEAN, compatible
from rule_engine.triggers.checks import check_trigger, expression_problem
from rule_engine.workflow.spec import ANY_STATE


def check_workflows(
    docs: Mapping[str, Mapping[str, Any]], site: SiteModel, rules: RuleEngine
) -> list[Problem]:
    """Return every problem of the workflow documents, plus entities that have more than one."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for name in sorted(docs):
        doc = docs[name]
        entity = str(doc.get("entity"))
        if entity in owner:
            problems.append(
                Problem(
                    f"workflow.{name}.entity",
                    f"entity '{entity}' already has workflow '{owner[entity]}'; an entity has at most one",
                    "duplicate",
                )
            )
        owner.setdefault(entity, name)
        problems += check_workflow(doc, site, rules, f"workflow.{name}")
    return problems


def check_workflow(doc: Mapping[str, Any], site: SiteModel, rules: RuleEngine, prefix: str) -> list[Problem]:
    """Return every problem of one workflow document against a compiled site."""
    entity = str(doc.get("entity"))
    if entity not in site.entities:
        return [Problem(f"{prefix}.entity", f"entity '{entity}' does not exist", "reference")]
    problems = _check_states(doc, site, prefix)
    states = {str(s.get("name")) for s in doc.get("states") or ()}
    seen: set[str] = set()
    for index, transition in enumerate(doc.get("transitions") or ()):
        path = f"{prefix}.transitions[{index}]"
        name = str(transition.get("name"))
        if name in seen:
            problems.append(Problem(f"{path}.name", f"transition '{name}' is defined twice", "duplicate"))
        seen.add(name)
        problems += _check_transition(doc, transition, states, site, rules, path)
    return problems


def _check_states(doc: Mapping[str, Any], site: SiteModel, prefix: str) -> list[Problem]:
    model = site.entity(str(doc["entity"]))
    states = [str(s.get("name")) for s in doc.get("states") or ()]
    problems: list[Problem] = []
    field = model.fields.get(str(doc.get("state_field")))
    if field is None or field.type != "select":
        problems.append(
            Problem(
                f"{prefix}.state_field",
                f"'{doc.get('state_field')}' must be a select field of {model.name}",
                "reference",
            )
        )
    else:
        options = {c.get("value") for c in field.choices}
        for index, state in enumerate(states):
            if state not in options:
                problems.append(
                    Problem(
                        f"{prefix}.states[{index}].name",
                        f"state '{state}' is not an option of {field.name}",
                        "reference",
                    )
                )
    for index, state in enumerate(states):
        if states.index(state) != index:
            problems.append(
                Problem(f"{prefix}.states[{index}].name", f"state '{state}' is listed twice", "duplicate")
            )
    initial = [s.get("name") for s in doc.get("states") or () if s.get("initial")]
    if len(initial) > 1:
        problems.append(
            Problem(
                f"{prefix}.states",
                f"mark exactly one state as initial (marked: {', '.join(map(str, initial))})",
                "invalid",
            )
        )
    return problems


def _check_transition(
    doc: Mapping[str, Any],
    transition: Mapping[str, Any],
    states: set[str],
    site: SiteModel,
    rules: RuleEngine,
    path: str,
) -> list[Problem]:
    entity = str(doc["entity"])
    model = site.entity(entity)
    problems: list[Problem] = []
    for index, source in enumerate(transition.get("from") or ()):
        if source not in states and source != ANY_STATE:
            problems.append(Problem(f"{path}.from[{index}]", f"unknown state '{source}'", "reference"))
    if transition.get("to") not in states:
        problems.append(Problem(f"{path}.to", f"unknown state '{transition.get('to')}'", "reference"))
    for index, role in enumerate(transition.get("roles") or ()):
        if not isinstance(role, str) or not role.strip():
            problems.append(Problem(f"{path}.roles[{index}]", "a role is a non-empty role name", "invalid"))
    approval_role = transition.get("approval_role")
    if approval_role is not None and (not isinstance(approval_role, str) or not approval_role.strip()):
        problems.append(Problem(f"{path}.approval_role", "give a role name", "invalid"))
    for index, name in enumerate(transition.get("required_fields") or ()):
        if name not in model.fields:
            problems.append(
                Problem(
                    f"{path}.required_fields[{index}]", f"unknown field '{name}' of {entity}", "reference"
                )
            )
        elif name == doc.get("state_field"):
            problems.append(
                Problem(
                    f"{path}.required_fields[{index}]", "the state field is set by the transition", "invalid"
                )
            )
    for key in ("guard", "approval_if"):
        text = str(transition.get(key) or "").strip()
        problem = _guard_problem(rules, site, entity, text, f"{path}.{key}") if text else None
        if problem:
            problems.append(problem)
    if transition.get("approval_if") and not approval_role:
        problems.append(Problem(f"{path}.approval_if", "approval_if needs an approval_role", "invalid"))
    problems += _check_actions(entity, transition, site, rules, path)
    return problems


def _guard_problem(rules: RuleEngine, site: SiteModel, entity: str, text: str, path: str) -> Problem | None:
    try:
        compiled = shared_expressions(rules.functions).compile(site, entity, text)
    except Exception as exc:
        return expression_problem(exc, path)
    if not compatible(compiled.result_type, BOOLEAN):
        return Problem(
            path,
            f"{'a guard' if path.endswith('.guard') else 'approval_if'} must be a condition (true or false), "
            f"not a {compiled.result_type}",
            "expression",
        )
    return None


def _check_actions(
    entity: str, transition: Mapping[str, Any], site: SiteModel, rules: RuleEngine, path: str
) -> list[Problem]:
    actions = list(transition.get("actions") or ())
    if not actions:
        return []
    # The actions run like those of a transition trigger, so they are checked exactly as the trigger
    # component checks its own; only the problems under "actions" concern the transition.
    as_trigger = {
        "name": str(transition.get("name")),
        "entity": entity,
        "event": "transition",
        "actions": actions,
    }
    return [p for p in check_trigger(as_trigger, site, rules, path) if p.path.startswith(f"{path}.actions")]
