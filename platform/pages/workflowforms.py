"""The workflow designer's forms: a state (which is also an option of the state field) and a transition
(sources, target, guard, allowed roles, fields required on entry), posted fields to documents."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from crm_platform.i18n import t
from crm_platform.pages.triggerform import NAME, text
from form_renderer.presentation.palette import PALETTE
from metamodel.errors import Problem

COLOURS = PALETTE
STATE_NAME_LIMIT = 100


def labels_of(form: Mapping[str, str]) -> dict[str, str]:
    """The English and Chinese labels typed (empty ones left out)."""
    labels = {"en": text(form, "label_en"), "zh-CN": text(form, "label_zh")}
    return {k: v for k, v in labels.items() if v}


def state_field(entity: dict[str, Any], workflow: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entity's field holding the state (the document itself, to be changed in place)."""
    name = workflow.get("state_field")
    return next((f for f in entity.get("fields") or [] if f.get("name") == name), None)


def colours_of(entity: Mapping[str, Any], workflow: Mapping[str, Any]) -> dict[str, str]:
    """Each state's colour: the colour of its option in the state field."""
    field = state_field(dict(entity), workflow) or {}
    return {str(o.get("value")): str(o.get("color") or "") for o in field.get("options") or []}


def apply_state(
    workflow: dict[str, Any], entity: dict[str, Any], key: str, form: Mapping[str, str]
) -> tuple[str, list[Problem]]:
    """Add (an empty ``key``) or change a state, and its option of the state field; returns its name."""
    problems: list[Problem] = []
    states = workflow.setdefault("states", [])
    name = text(form, "name", STATE_NAME_LIMIT) if not key else key
    if not key and (not name or "|" in name or name == "*"):
        problems.append(Problem("name", t("studio.wf.err.state_name"), "invalid"))
    if not key and any(s.get("name") == name for s in states):
        problems.append(Problem("name", t("studio.wf.err.state_exists", name=name), "duplicate"))
    labels = labels_of(form)
    if not labels:
        problems.append(Problem("label_en", t("studio.err.label_required"), "required"))
    if problems:
        return name, problems
    state = next((s for s in states if s.get("name") == name), None)
    if state is None:
        state = {"name": name}
        states.append(state)
    state["label"] = labels
    for flag in ("initial", "final"):
        if form.get(flag) == "on":
            state[flag] = True
        else:
            state.pop(flag, None)
    if state.get("initial"):
        for other in states:
            if other is not state:
                other.pop("initial", None)
    _option(entity, workflow, name, labels, text(form, "colour", 20))
    return name, problems


def _option(
    entity: dict[str, Any], workflow: Mapping[str, Any], name: str, labels: dict[str, str], colour: str
) -> None:
    field = state_field(entity, workflow)
    if field is None:
        return
    options = field.setdefault("options", [])
    option = next((o for o in options if o.get("value") == name), None)
    if option is None:
        option = {"value": name}
        options.append(option)
    option["label"] = dict(labels)
    if colour in COLOURS:
        option["color"] = colour
    else:
        option.pop("color", None)


def remove_state(workflow: dict[str, Any], name: str) -> list[Problem]:
    """Remove a state no transition uses (its option stays: records may still hold it)."""
    used = [
        x.get("name")
        for x in workflow.get("transitions") or []
        if name in (x.get("from") or []) or x.get("to") == name
    ]
    if used:
        return [
            Problem("name", t("studio.wf.err.state_used", transitions=", ".join(map(str, used))), "in_use")
        ]
    workflow["states"] = [s for s in workflow.get("states") or [] if s.get("name") != name]
    if not workflow["states"]:
        return [Problem("name", t("studio.wf.err.last_state"), "invalid")]
    return []


def transition_of(
    form: MultiDict[str, str], states: list[str], key: str
) -> tuple[dict[str, Any], list[Problem]]:
    """The transition the form describes and the problems of what was typed."""
    problems: list[Problem] = []
    name = text(form, "name", 40) if not key else key
    if not NAME.match(name):
        problems.append(Problem("name", t("studio.err.name_format"), "pattern"))
    sources = [s for s in form.getlist("from") if s in states or s == "*"]
    target = text(form, "to", STATE_NAME_LIMIT)
    if not sources:
        problems.append(Problem("from", t("studio.wf.err.from"), "required"))
    if target not in states:
        problems.append(Problem("to", t("studio.wf.err.to"), "required"))
    transition: dict[str, Any] = {"name": name, "from": sources, "to": target}
    labels = labels_of(form)
    if labels:
        transition["label"] = labels
    roles = [r for r in form.getlist("roles") if r]
    if roles:
        transition["roles"] = roles
    if text(form, "guard", 2000):
        transition["guard"] = text(form, "guard", 2000)
    required = [f for f in form.getlist("required_fields") if f]
    if required:
        transition["required_fields"] = required
    return transition, problems


def put_transition(
    workflow: dict[str, Any], transition: dict[str, Any], key: str, old: Mapping[str, Any]
) -> list[Problem]:
    """Put the transition into the workflow (keeping settings the form does not show, e.g. actions)."""
    transitions = workflow.setdefault("transitions", [])
    if not key:
        if any(x.get("name") == transition["name"] for x in transitions):
            return [
                Problem("name", t("studio.wf.err.transition_exists", name=transition["name"]), "duplicate")
            ]
        transitions.append(transition)
        return []
    kept = {k: copy.deepcopy(v) for k, v in old.items() if k in ("approval_role", "approval_if", "actions")}
    workflow["transitions"] = [{**transition, **kept} if x.get("name") == key else x for x in transitions]
    return []


__all__ = [
    "COLOURS",
    "apply_state",
    "colours_of",
    "labels_of",
    "put_transition",
    "remove_state",
    "state_field",
    "transition_of",
]
