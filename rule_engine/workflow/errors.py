"""Refusals of workflow operations; CrmError subclasses, so the API answers them with a 4xx and a code."""

from __future__ import annotations

from typing import Any

from metamodel.errors import Conflict, CrmError, Problem


class TransitionRefused(Conflict):
    """The transition may not happen now (wrong state, guard, missing fields, failing action)."""

    code = "transition_refused"
    status = 409

    def __init__(
        self, message: str, transition: str, reason: str, problems: list[Problem] | None = None, **extra: Any
    ) -> None:
        super().__init__(message, problems, transition=transition, reason=reason, **extra)
        self.transition = transition
        self.reason = reason


class TransitionForbidden(TransitionRefused):
    """The actor lacks the role the transition (or the approval) needs."""

    code = "transition_forbidden"
    status = 403


class TransitionIncomplete(TransitionRefused):
    """Fields the transition requires are empty; problems name them."""

    code = "transition_incomplete"
    status = 422


class ApprovalNotPending(CrmError):
    """The approval does not exist for this record or was already decided."""

    code = "approval_not_pending"
    status = 409
