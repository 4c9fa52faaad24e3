"""Typed, read-only views of workflow documents, compiled once per published metadata version."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metamodel.model import SiteModel

# A ``from`` entry that matches every state (accepted by the metadata validation).
ANY_STATE = "*"


@dataclass(frozen=True)
class TransitionSpec:
    """One transition of a workflow."""

    name: str
    label: Mapping[str, str]
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    guard: str | None
    guard_message: Mapping[str, str]  # what a refused guard tells the user, per language (en, zh-CN)
    required_fields: tuple[str, ...]
    approval_role: str | None
    approval_if: str | None  # approval is needed only while this holds (always when None)
    actions: tuple[Mapping[str, Any], ...]
    confirm: bool = False  # the page asks before taking it

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TransitionSpec:
        """Build from one entry of a workflow's ``transitions``."""
        guard = str(doc.get("guard") or "").strip()
        return cls(
            name=str(doc["name"]),
            label=dict(doc.get("label") or {}),
            sources=tuple(str(s) for s in doc.get("from") or ()),
            target=str(doc["to"]),
            roles=tuple(doc.get("roles") or ()),
            guard=guard or None,
            guard_message=dict(doc.get("guard_message") or {}),
            required_fields=tuple(doc.get("required_fields") or ()),
            approval_role=doc.get("approval_role") or None,
            approval_if=str(doc.get("approval_if") or "").strip() or None,
            actions=tuple(doc.get("actions") or ()),
            confirm=bool(doc.get("confirm")),
        )

    def leaves(self, state: str | None) -> bool:
        """Whether the transition may start in ``state``."""
        return ANY_STATE in self.sources or (state is not None and state in self.sources)


@dataclass(frozen=True)
class WorkflowSpec:
    """One workflow document in typed form."""

    name: str
    entity: str
    state_field: str
    states: tuple[str, ...]
    initial: str
    final: frozenset[str]
    labels: Mapping[str, Mapping[str, str]]
    transitions: tuple[TransitionSpec, ...]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WorkflowSpec:
        """Build from a workflow document (already valid against workflow.json)."""
        states = [s for s in doc.get("states") or () if isinstance(s, Mapping)]
        names = tuple(str(s["name"]) for s in states)
        marked = [str(s["name"]) for s in states if s.get("initial")]
        # Publishing refuses two initial states; with none marked the first state is the initial one.
        initial = marked[0] if marked else (names[0] if names else "")
        return cls(
            name=str(doc["name"]),
            entity=str(doc["entity"]),
            state_field=str(doc["state_field"]),
            states=names,
            initial=initial,
            final=frozenset(str(s["name"]) for s in states if s.get("final")),
            labels={str(s["name"]): dict(s.get("label") or {}) for s in states},
            transitions=tuple(TransitionSpec.from_doc(t) for t in doc.get("transitions") or ()),
        )

    def transition(self, name: str) -> TransitionSpec | None:
        """Return the transition called ``name``, or None."""
        for transition in self.transitions:
            if transition.name == name:
                return transition
        return None


_cache: weakref.WeakKeyDictionary[SiteModel, dict[str, WorkflowSpec]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def site_workflows(site: SiteModel) -> dict[str, WorkflowSpec]:
    """Return the workflow of each entity of a published version (cached per version)."""
    with _lock:
        found = _cache.get(site)
    if found is None:
        docs = site.bundle.docs("workflow")
        found = {}
        for name in sorted(docs):
            spec = WorkflowSpec.from_doc(docs[name])
            # Publishing refuses two workflows on one entity; the first by name wins otherwise.
            if spec.entity in site.entities:
                found.setdefault(spec.entity, spec)
        with _lock:
            _cache[site] = found
    return found


def workflow_for(site: SiteModel, entity: str) -> WorkflowSpec | None:
    """Return the workflow of ``entity``, or None."""
    return site_workflows(site).get(entity)
