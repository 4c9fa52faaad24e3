"""Record hooks that keep the state field under the workflow's control.

A new record starts in the initial state; afterwards only a transition moves it.  The workflow service
marks the connection while it writes the new state (``moving``) so its own update passes, and the
system actor (no user: imports, rule actions, migrations) may set states directly; both still leave a
history row so time-in-state triggers stay right.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from metamodel.model import EntityModel
from metamodel.records.hooks import SaveEvent
from rule_engine.workflow.history import record_state_change
from rule_engine.workflow.spec import WorkflowSpec, workflow_for

_MOVING_KEY = "crm_workflow_moving"


@contextmanager
def moving(conn: Connection, entity: str, record_id: int) -> Iterator[None]:
    """Let the state field of one record be written on ``conn`` while the block runs."""
    marks: set[tuple[str, int]] = conn.info.setdefault(_MOVING_KEY, set())
    key = (entity, record_id)
    added = key not in marks
    marks.add(key)
    try:
        yield
    finally:
        if added:
            marks.discard(key)


def is_moving(conn: Connection, entity: str, record_id: int | None) -> bool:
    """Whether the workflow service is writing this record's state on ``conn`` right now."""
    return record_id is not None and (entity, record_id) in conn.info.get(_MOVING_KEY, ())


def _workflow(event: SaveEvent) -> WorkflowSpec | None:
    if event.runtime is None:
        return None
    return workflow_for(event.runtime.model, event.entity.name)


def initial_state(site: Any, model: EntityModel) -> dict[str, Any]:
    """Fill the state field of a new record with the initial state before the required check runs."""
    spec = workflow_for(site, model.name)
    return {spec.state_field: spec.initial} if spec is not None and spec.initial else {}


def before_save(event: SaveEvent) -> None:
    """Give new records the initial state; refuse other initial states and direct state edits."""
    spec = _workflow(event)
    if spec is None:
        return
    name = spec.state_field
    system = event.actor.user_id is None
    if event.action == "create":
        value = event.values.get(name)
        if value in (None, ""):
            event.values[name] = spec.initial
        elif value != spec.initial and not system:
            event.problems.add(
                name,
                f"a new {event.entity.name} starts in state '{spec.initial}'; "
                f"move it to '{value}' with a transition afterwards",
                "workflow_state",
            )
        return
    if name not in event.values or event.before is None:
        return
    old, new = event.before.get(name), event.values[name]
    if new == old or system or is_moving(event.conn, event.entity.name, event.record_id):
        return
    leaving = [t.name for t in spec.transitions if t.leaves(old)]
    hint = f" ({', '.join(leaving)} from '{old}')" if leaving else f" (none leaves '{old}')"
    event.problems.add(
        name,
        f"the state cannot be edited directly; use a transition of workflow '{spec.name}'{hint}",
        "use_transition",
    )


def after_save(event: SaveEvent) -> None:
    """Write the history row of a new record's state, and of a state the system set directly."""
    spec = _workflow(event)
    if spec is None or event.record_id is None:
        return
    if is_moving(event.conn, event.entity.name, event.record_id):
        return  # the workflow service writes its own row, with the transition and comment
    name = spec.state_field
    if event.action == "create":
        before = None
    elif name in event.values and event.before is not None and event.values[name] != event.before.get(name):
        before = event.before.get(name)
    else:
        return
    state = event.values.get(name)
    if state in (None, ""):
        return
    assert event.actor.now is not None
    record_state_change(
        event.conn,
        entity=event.entity.name,
        record_id=event.record_id,
        workflow=spec.name,
        from_state=before,
        to_state=str(state),
        transition=None,
        actor_id=event.actor.user_id,
        at=event.actor.now,
    )
