"""Wiring the audit log into the app: record hooks, workflow transitions and metadata publishes."""

from __future__ import annotations

from typing import Any

import click
from flask import has_request_context, request

from metamodel.audit import install_record_audit, record_publish
from metamodel.audit.log import write_for_actor
from metamodel.records.hooks import RecordHooks
from metamodel.versions import MetadataService
from rule_engine.engine import RuleEngine


def current_origin() -> str | None:
    """Return where the running operation comes from: the client address, "cli", or None (background)."""
    if has_request_context():
        return request.remote_addr or "unknown"
    if click.get_current_context(silent=True) is not None:
        return "cli"
    return None


def install_audit(hooks: RecordHooks, rules: RuleEngine, metadata: MetadataService) -> None:
    """Log record changes, transitions, publishes and rollbacks, each in the transaction that makes it."""
    install_record_audit(hooks, current_origin)
    try:
        workflow = rules.component("workflow")
    except KeyError:
        workflow = None
    listeners = getattr(workflow, "on_transition", None)
    if isinstance(listeners, list):
        listeners.append(record_transition)
    metadata.on_publish.append(lambda event: record_publish(event, current_origin()))


def record_transition(event: Any) -> None:
    """Log a workflow transition (a listener of the workflow component, told inside its transaction)."""
    write_for_actor(
        event.conn,
        "record.transition",
        event.actor,
        current_origin(),
        entity=str(event.entity),
        record_id=int(event.record_id),
        summary=f"{event.transition}: {event.from_state} -> {event.to_state}",
        changes={
            "state": [event.from_state, event.to_state],
            "workflow": event.workflow,
            "transition": event.transition,
            "comment": event.comment,
        },
    )
