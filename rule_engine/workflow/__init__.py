"""Workflows: states and transitions of records, with roles, guards, required fields and approvals."""

from rule_engine.workflow.component import WorkflowComponent
from rule_engine.workflow.errors import (
    ApprovalNotPending,
    TransitionForbidden,
    TransitionIncomplete,
    TransitionRefused,
)
from rule_engine.workflow.service import Transitioned, TransitionResult, WorkflowService
from rule_engine.workflow.spec import TransitionSpec, WorkflowSpec, workflow_for

__all__ = [
    "ApprovalNotPending",
    "TransitionForbidden",
    "TransitionIncomplete",
    "TransitionRefused",
    "TransitionResult",
    "TransitionSpec",
    "Transitioned",
    "WorkflowComponent",
    "WorkflowService",
    "WorkflowSpec",
    "workflow_for",
]
