"""Moving a card: through the workflow service when the board follows the workflow (roles, guard and
required fields checked there), else an update of the select field through the record runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_platform.i18n import current_locale, t
from crm_platform.pages.boarddata import NONE_VALUE
from crm_platform.pages.boardsetup import BoardSetup
from crm_platform.problemwords import worded
from crm_platform.services import services
from metamodel.errors import Conflict, CrmError
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from rule_engine.workflow import TransitionRefused, WorkflowService, WorkflowSpec
from rule_engine.workflow.access import holds_any, roles_of


class MoveRefused(Conflict):
    """No transition leads from the card's state to the column it was dropped on."""

    code = "move_refused"


def workflow_service() -> WorkflowService | None:
    """Return the installed workflow service, or None without the workflow component."""
    try:
        service = getattr(services().rules.component("workflow"), "service", None)
    except KeyError:
        return None
    return service if isinstance(service, WorkflowService) else None


def drop_targets(spec: WorkflowSpec, actor: Actor) -> dict[str, list[str]]:
    """Return, per state, the states a card may be dropped on: transitions whose roles the reader holds.

    Guards and required fields are judged when the card is dropped (per record, on the server).
    """
    with services().engine.connect() as conn:
        held = roles_of(conn, actor.user_id) if actor.user_id is not None else set()
        steps = [s for s in spec.transitions if holds_any(conn, actor, s.roles, held)]
    return {
        state: sorted({s.target for s in steps if s.leaves(state) and s.target != state})
        for state in spec.states
    }


def move_card(
    model: EntityModel, setup: BoardSetup, record_id: int, target: str, version: int | None, actor: Actor
) -> tuple[dict[str, Any], bool]:
    """Move the record to ``target``; return (the record as the reader sees it, whether it moved now).

    A transition that needs an approval leaves the card where it was (moved is False).
    """
    runtime = services().runtime()
    if setup.workflow is None:
        value = None if target in ("", NONE_VALUE) else target
        record = runtime.update(
            model.name, record_id, {setup.group.name: value}, actor, expected_version=version
        )
        return record, True
    spec, service = setup.workflow, workflow_service()
    record = runtime.get(model.name, record_id, actor)
    state = record.get(spec.state_field)
    candidates = [s.name for s in spec.transitions if s.leaves(state) and s.target == target]
    if service is None or not candidates:
        raise MoveRefused(
            t("board.no_step", source=_state_label(spec, state), target=_state_label(spec, target)),
            reason="no_step",
        )
    offered = [
        o for o in service.available_transitions(runtime, model.name, record, actor) if o["to"] == target
    ]
    # The one the reader may take now, else the first offered (its refusal explains), else the first.
    ready = [o["name"] for o in offered if o["guard_passed"] and not o["missing_fields"]]
    name = (ready or [o["name"] for o in offered] or candidates)[0]
    result = service.transition(runtime, model.name, record_id, name, actor=actor)
    return dict(result.record), result.status == "done"


def _state_label(spec: WorkflowSpec, state: Any) -> str:
    labels: Mapping[str, str] = spec.labels.get(str(state)) or {}
    return str(labels.get(current_locale()) or labels.get("en") or state or "—")


def refusal_text(model: EntityModel, exc: CrmError) -> str:
    """Word a refused move for the reader: the guard's message (never its expression), missing fields…"""
    if isinstance(exc, TransitionRefused):
        if exc.reason == "guard":
            labels = exc.extra.get("guard_message") or {}
            return str(labels.get(current_locale()) or labels.get("en") or t("board.refused_guard"))
        if exc.reason == "required_fields":
            locale = current_locale()
            names = [p.path for p in exc.problems]
            fields = ", ".join(model.fields[n].label(locale) if n in model.fields else n for n in names)
            return t("board.refused_fields", fields=fields)
        if exc.reason in ("role", "state", "pending"):
            return t(f"board.refused_{exc.reason}")
    if isinstance(exc, MoveRefused):
        return exc.message
    details = "; ".join(worded(p.message) for p in exc.problems)
    return t("board.refused", reason=exc.message + (f" ({details})" if details else ""))
