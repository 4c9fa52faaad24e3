"""The workflow service: take a transition (roles, guard, required fields, approval), then move the state,
write its history, run its actions and tell the listeners, all in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from metamodel.errors import NotFound, Problem
from metamodel.records.hooks import Actor, authorized_write
from rule_engine.actions.base import ActionContext, ActionFailed, run_actions
from rule_engine.engine import RuleEngine
from rule_engine.evaluation import load_record, plain
from rule_engine.triggers.firing import MAX_DEPTH, action_services, deeper, system_actor
from rule_engine.workflow import judge
from rule_engine.workflow.access import holds_any, roles_of
from rule_engine.workflow.approvals import (
    APPROVED,
    PENDING,
    REJECTED,
    decide,
    find_approval,
    pending_of,
    request_approval,
)
from rule_engine.workflow.enforce import moving
from rule_engine.workflow.errors import (
    ApprovalNotPending,
    TransitionForbidden,
    TransitionIncomplete,
    TransitionRefused,
)
from rule_engine.workflow.history import history_of, record_state_change
from rule_engine.workflow.spec import TransitionSpec, WorkflowSpec, workflow_for

SYSTEM = Actor()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transitioned:
    """What the ``on_transition`` listeners are told after a record changed state."""

    entity: str
    record_id: int
    workflow: str
    transition: str
    from_state: str | None
    to_state: str
    actor: Actor
    conn: Connection
    runtime: Any
    now: dt.datetime
    history_id: int
    comment: str = ""


class TransitionResult(Mapping[str, Any]):
    """The outcome of a transition request; reads as the record, as the ``transition`` action expects."""

    def __init__(
        self,
        status: str,
        record: Mapping[str, Any],
        *,
        history_id: int | None = None,
        approval_id: int | None = None,
    ) -> None:
        self.status = status  # done | pending (waiting for an approval)
        self.record = dict(record)
        self.history_id = history_id
        self.approval_id = approval_id

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.record)

    def __len__(self) -> int:
        return len(self.record)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape the API answers with."""
        return {
            "status": self.status,
            "history_id": self.history_id,
            "approval_id": self.approval_id,
            "record": plain(self.record),
        }


@dataclass
class WorkflowService:
    """Transitions, approvals, available transitions and history of records with a workflow."""

    listeners: list[Callable[[Any], None]] = field(default_factory=list)
    rules: RuleEngine | None = None

    # --- taking a transition ---------------------------------------------------------------------
    def transition(
        self,
        runtime: Any,
        entity: str,
        record_id: int,
        name: str,
        *,
        actor: Actor = SYSTEM,
        conn: Connection | None = None,
        comment: str = "",
        values: Mapping[str, Any] | None = None,
    ) -> TransitionResult:
        """Take transition ``name``; refused with TransitionRefused (nothing written) when it may not."""
        spec, step = _step(runtime, entity, name)
        actor = _timed(actor, runtime)
        with runtime.transaction(conn) as c, _atomic(c, conn is not None):
            visible = runtime.get(entity, record_id, actor, conn=c)
            # Checks read the stored values: a field hidden or masked for the actor is still filled in.
            record = runtime.get(entity, record_id, SYSTEM, conn=c)
            _check_source(spec, step, record)
            if not holds_any(c, actor, step.roles):
                raise TransitionForbidden(
                    f"transition {name} needs one of the roles {', '.join(step.roles)}", name, "role"
                )
            actor = runtime.authorize(entity, "transition", actor, record_id, conn=c)
            if values:
                visible = runtime.update(entity, record_id, dict(values), actor, conn=c)
                record = runtime.get(entity, record_id, SYSTEM, conn=c)
            self._check_ready(c, runtime, spec, step, record, actor)
            if judge.needs_approval(
                c, runtime, spec, step, int(record["id"]), actor, self._rules().functions
            ):
                return self._request(c, spec, step, visible, actor, str(step.approval_role), comment)
            return self._move(runtime, c, spec, step, record, actor, comment)

    def _request(
        self,
        conn: Connection,
        spec: WorkflowSpec,
        step: TransitionSpec,
        record: dict[str, Any],
        actor: Actor,
        role: str,
        comment: str,
    ) -> TransitionResult:
        if any(p["transition"] == step.name for p in pending_of(conn, spec.entity, record["id"])):
            raise TransitionRefused(
                f"transition {step.name} of {spec.entity} {record['id']} is already waiting for approval",
                step.name,
                "pending",
            )
        assert actor.now is not None
        approval_id = request_approval(
            conn,
            entity=spec.entity,
            record_id=int(record["id"]),
            workflow=spec.name,
            transition=step.name,
            role=role,
            requested_by=actor.user_id,
            at=actor.now,
            comment=comment,
        )
        return TransitionResult("pending", record, approval_id=approval_id)

    def _check_ready(
        self,
        conn: Connection,
        runtime: Any,
        spec: WorkflowSpec,
        step: TransitionSpec,
        record: Mapping[str, Any],
        actor: Actor,
    ) -> None:
        reason = self.guard_failure(conn, runtime, spec, step, int(record["id"]), actor)
        if reason:
            # The page shows the author's guard_message (code + params), never the expression.
            raise TransitionRefused(
                f"transition {step.name} refused: {reason}",
                step.name,
                "guard",
                message_code="workflow.guard_refused",
                guard_message=dict(step.guard_message),
            )
        missing = [f for f in step.required_fields if _empty(record.get(f))]
        if missing:
            raise TransitionIncomplete(
                f"transition {step.name} needs {', '.join(missing)} filled in first",
                step.name,
                "required_fields",
                [Problem(f, "required by this transition", "required") for f in missing],
            )

    def guard_failure(
        self,
        conn: Connection,
        runtime: Any,
        spec: WorkflowSpec,
        step: TransitionSpec,
        record_id: int,
        actor: Actor,
    ) -> str:
        """Return why the transition's guard stops it ("" when it holds or there is none)."""
        if not step.guard:
            return ""
        try:
            holds = judge.holds(conn, runtime, spec, step.guard, record_id, actor, self._rules().functions)
        except Exception as exc:
            return f"guard could not be evaluated: {step.guard}: {getattr(exc, 'message', exc)}"
        return "" if holds else f"guard failed: {step.guard}"

    def _move(
        self,
        runtime: Any,
        conn: Connection,
        spec: WorkflowSpec,
        step: TransitionSpec,
        record: Mapping[str, Any],
        actor: Actor,
        comment: str,
    ) -> TransitionResult:
        record_id = int(record["id"])
        before = record.get(spec.state_field)
        assert actor.now is not None
        # The transition permission covers writing the state (no "update" permission needed, and a
        # state field read-only for the actor still moves).
        with (
            moving(conn, spec.entity, record_id),
            authorized_write(conn, spec.entity, record_id, [spec.state_field]),
        ):
            runtime.update(
                spec.entity,
                record_id,
                {spec.state_field: step.target},
                actor,
                expected_version=record["lock_version"],
                conn=conn,
            )
        history_id = record_state_change(
            conn,
            entity=spec.entity,
            record_id=record_id,
            workflow=spec.name,
            from_state=before,
            to_state=step.target,
            transition=step.name,
            actor_id=actor.user_id,
            at=actor.now,
            comment=comment,
        )
        self._run_actions(runtime, conn, spec, step, record_id, actor.now)
        event = Transitioned(
            spec.entity,
            record_id,
            spec.name,
            step.name,
            before,
            step.target,
            actor,
            conn,
            runtime,
            actor.now,
            history_id,
            comment,
        )
        for listener in self.listeners:
            listener(event)
        try:
            final = runtime.get(spec.entity, record_id, actor, conn=conn)
        except NotFound:  # the actions took the record out of the actor's sight
            stored = load_record(conn, runtime.model, spec.entity, record_id) or dict(record)
            final = runtime.present_as(spec.entity, dict(stored), actor, conn)
        return TransitionResult("done", final, history_id=history_id)

    def _run_actions(
        self,
        runtime: Any,
        conn: Connection,
        spec: WorkflowSpec,
        step: TransitionSpec,
        record_id: int,
        now: dt.datetime,
    ) -> None:
        if not step.actions:
            return
        rules = self._rules()
        record = load_record(conn, runtime.model, spec.entity, record_id) or {"id": record_id}
        ctx = ActionContext(
            conn=conn,
            runtime=runtime,
            site=runtime.model,
            entity=spec.entity,
            record=record,
            actor=system_actor(now),  # as trigger actions: the workflow's author decided what they do
            now=now,
            rule=f"{spec.name}.{step.name}",
            services=action_services(rules),
        )
        with deeper(conn) as allowed:
            if not allowed:
                raise TransitionRefused(
                    f"transition {step.name} stopped: rules nested more than {MAX_DEPTH} levels deep (a loop?)",
                    step.name,
                    "depth_limit",
                )
            try:
                run_actions(rules.actions, step.actions, ctx)
            except ActionFailed as exc:
                raise TransitionRefused(
                    f"transition {step.name} refused: {exc.message}", step.name, "action"
                ) from exc
            except Exception as exc:
                # An action that crashes (a bug, an expression error) refuses the transition too,
                # rather than surfacing as an internal error.
                log.exception("workflow %s: an action of transition %s crashed", spec.name, step.name)
                raise TransitionRefused(
                    f"transition {step.name} refused: an action failed: {type(exc).__name__}: {exc}",
                    step.name,
                    "action",
                ) from exc

    # --- approvals ---------------------------------------------------------------------------------
    def approve(
        self,
        runtime: Any,
        entity: str,
        record_id: int,
        approval_id: int,
        *,
        actor: Actor = SYSTEM,
        conn: Connection | None = None,
        comment: str = "",
    ) -> TransitionResult:
        """Approve a pending transition and take it now (its state, guard and fields are checked again)."""
        actor = _timed(actor, runtime)
        with runtime.transaction(conn) as c, _atomic(c, conn is not None):
            approval = _pending(c, entity, record_id, approval_id, actor)
            spec, step = _step(runtime, entity, str(approval["transition"]))
            runtime.get(entity, record_id, actor, conn=c)
            actor = runtime.authorize(entity, "transition", actor, record_id, conn=c)
            record = runtime.get(entity, record_id, SYSTEM, conn=c)
            _check_source(spec, step, record)
            self._check_ready(c, runtime, spec, step, record, actor)
            assert actor.now is not None
            if not decide(c, approval_id, APPROVED, actor.user_id, actor.now, comment):
                raise ApprovalNotPending(f"approval {approval_id} was decided meanwhile")
            return self._move(runtime, c, spec, step, record, actor, str(approval["comment"] or comment))

    def reject(
        self,
        runtime: Any,
        entity: str,
        record_id: int,
        approval_id: int,
        *,
        actor: Actor = SYSTEM,
        conn: Connection | None = None,
        comment: str = "",
    ) -> dict[str, Any]:
        """Reject a pending transition; the record stays where it is. Returns the closed approval."""
        actor = _timed(actor, runtime)
        with runtime.transaction(conn) as c, _atomic(c, conn is not None):
            _pending(c, entity, record_id, approval_id, actor)
            runtime.get(entity, record_id, actor, conn=c)
            assert actor.now is not None
            if not decide(c, approval_id, REJECTED, actor.user_id, actor.now, comment):
                raise ApprovalNotPending(f"approval {approval_id} was decided meanwhile")
            found = find_approval(c, approval_id)
            return dict(plain(found))

    # --- reading -----------------------------------------------------------------------------------
    def available_transitions(
        self,
        runtime: Any,
        entity: str,
        record: Mapping[str, Any],
        actor: Actor,
        *,
        conn: Connection | None = None,
    ) -> list[dict[str, Any]]:
        """Return the transitions the actor may take from the record's state now, with their guard result."""
        spec = workflow_for(runtime.model, entity)
        if spec is None:
            return []
        actor = _timed(actor, runtime)
        state = record.get(spec.state_field)
        found: list[dict[str, Any]] = []
        with runtime.transaction(conn) as c:
            held = roles_of(c, actor.user_id) if actor.user_id is not None else set()
            pending = {p["transition"] for p in pending_of(c, entity, int(record["id"]))}
            for step in spec.transitions:
                if not step.leaves(state) or not holds_any(c, actor, step.roles, held):
                    continue
                reason = self.guard_failure(c, runtime, spec, step, int(record["id"]), actor)
                approval = judge.needs_approval(
                    c, runtime, spec, step, int(record["id"]), actor, self._rules().functions
                )
                found.append(
                    {
                        "name": step.name,
                        "label": dict(step.label),
                        "from": state,
                        "to": step.target,
                        "to_label": dict(spec.labels.get(step.target) or {}),
                        "guard_passed": not reason,
                        "reason": reason,
                        "guard_message": dict(step.guard_message),
                        "confirm": step.confirm,
                        "required_fields": list(step.required_fields),
                        "missing_fields": [f for f in step.required_fields if _empty(record.get(f))],
                        "needs_approval": approval,
                        "approval_pending": step.name in pending,
                    }
                )
        return found

    def history(
        self, runtime: Any, entity: str, record_id: int, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Return the record's state changes, oldest first."""
        with runtime.transaction(conn) as c:
            return history_of(c, entity, record_id)

    def pending_approvals(
        self, runtime: Any, entity: str, record_id: int, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Return the record's approvals still waiting for a decision."""
        with runtime.transaction(conn) as c:
            return pending_of(c, entity, record_id)

    def _rules(self) -> RuleEngine:
        if self.rules is None:
            raise RuntimeError("the workflow component was not installed (RuleEngine.install)")
        return self.rules


def _step(runtime: Any, entity: str, name: str) -> tuple[WorkflowSpec, TransitionSpec]:
    spec = workflow_for(runtime.model, entity)
    if spec is None:
        raise NotFound(f"entity '{entity}' has no workflow")
    step = spec.transition(name)
    if step is None:
        raise NotFound(f"workflow '{spec.name}' has no transition '{name}'")
    return spec, step


def _check_source(spec: WorkflowSpec, step: TransitionSpec, record: Mapping[str, Any]) -> None:
    state = record.get(spec.state_field)
    if not step.leaves(state):
        raise TransitionRefused(
            f"transition {step.name} cannot start in state '{state}' (it leaves {', '.join(step.sources)})",
            step.name,
            "state",
            state=state,
        )


def _pending(conn: Connection, entity: str, record_id: int, approval_id: int, actor: Actor) -> dict[str, Any]:
    approval = find_approval(conn, approval_id)
    if approval is None or approval["entity"] != entity or int(approval["record_id"]) != record_id:
        raise NotFound(f"{entity} {record_id} has no approval {approval_id}")
    if approval["status"] != PENDING:
        raise ApprovalNotPending(f"approval {approval_id} is already {approval['status']}")
    role = str(approval["role"])
    if not holds_any(conn, actor, [role]):
        raise TransitionForbidden(
            f"only holders of the role {role} may decide this approval", str(approval["transition"]), "role"
        )
    return approval


def _timed(actor: Actor, runtime: Any) -> Actor:
    # replace() keeps every other field of the actor (origin for the audit log, access grants).
    return actor if actor.now is not None else replace(actor, now=runtime.clock())


def _atomic(conn: Connection, nested: bool) -> AbstractContextManager[Any]:
    # In the caller's transaction a savepoint undoes a refused transition without ending theirs; in
    # a transaction of its own the refusal rolls everything back anyway.
    return conn.begin_nested() if nested else nullcontext()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
