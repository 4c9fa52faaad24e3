"""Conditions of a transition judged on the stored record: guards, and ``approval_if`` (issue 15 item 13)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from metamodel.records.hooks import Actor
from rule_engine.evaluation import load_record, shared_expressions
from rule_engine.workflow.access import holds_any
from rule_engine.workflow.spec import TransitionSpec, WorkflowSpec


def holds(
    conn: Connection,
    runtime: Any,
    spec: WorkflowSpec,
    text: str,
    record_id: int,
    actor: Actor,
    functions: Any,
) -> bool:
    """Whether the condition ``text`` holds for the stored record; raises when it cannot be judged."""
    current = load_record(conn, runtime.model, spec.entity, record_id) or {}
    now = actor.now or runtime.clock()
    # A savepoint, so a condition whose query fails cannot abort the caller's transaction.
    with conn.begin_nested():
        return bool(shared_expressions(functions).holds(runtime.model, spec.entity, text, conn, current, now))


def needs_approval(
    conn: Connection,
    runtime: Any,
    spec: WorkflowSpec,
    step: TransitionSpec,
    record_id: int,
    actor: Actor,
    functions: Any,
) -> bool:
    """Whether taking ``step`` waits for an approver: an approval role the actor lacks, and approval_if holds."""
    if not step.approval_role or holds_any(conn, actor, [step.approval_role]):
        return False
    if not step.approval_if:
        return True
    try:
        return holds(conn, runtime, spec, step.approval_if, record_id, actor, functions)
    except Exception:
        return True  # a condition that cannot be judged must not skip an approval
