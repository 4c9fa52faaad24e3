"""The studio's workflow designer: the states and transitions of an entity drawn as a diagram (server
SVG), states (options of the state field, with their colour) and transitions (guard, allowed roles,
fields required on entry) edited in forms, time-in-state escalations as time triggers of the rule builder.

The workflow and its entity are written through the metadata draft service the API uses, after the rule
engine's own workflow checks passed on the draft as it would be.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import select

from crm_platform.api.common import configure_required, username
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiodryrun import test_transition
from crm_platform.pages.studioexpr import site_of
from crm_platform.pages.studiorules import entity_doc, problems_by_path, schedule_words
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import text
from crm_platform.pages.workflowforms import (
    COLOURS,
    apply_state,
    colours_of,
    put_transition,
    remove_state,
    state_field,
    transition_of,
)
from crm_platform.pages.workflowsvg import diagram, tone
from crm_platform.services import services
from metamodel.definitions import Bundle
from metamodel.errors import CrmError, MetadataInvalid, NotFound, Problem
from metamodel.systables import roles
from metamodel.versions import StaleDraft, fingerprint
from rule_engine.workflow.checks import check_workflow

# Nested under the studio blueprint at start-up: endpoints read "studio.workflow.<view>".
bp = Blueprint("workflow", __name__)


def _workflow(entity: str) -> tuple[str, dict[str, Any] | None]:
    docs = services().metadata.draft().documents.get("workflow", {})
    name = next((n for n in sorted(docs) if docs[n].get("entity") == entity), None)
    return (name, copy.deepcopy(docs[name])) if name else (f"{entity}_flow"[:40], None)


def _save(entity: dict[str, Any], name: str, workflow: dict[str, Any], entity_changed: bool) -> None:
    """Check the workflow on the draft as it would be, then write the entity (if changed) and workflow."""
    metadata = services().metadata
    bundle = Bundle.from_json(metadata.draft().to_json())
    bundle.documents["entity"][entity["name"]] = entity
    bundle.documents.setdefault("workflow", {})[name] = workflow
    problems = check_workflow(workflow, site_of(bundle), services().rules, "workflow")
    if problems:
        raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
    if entity_changed:
        metadata.put_document(
            "entity", entity["name"], entity, username(), base=text(request.form, "base_entity", 64)
        )
    metadata.put_document("workflow", name, workflow, username(), base=text(request.form, "base", 64))


def _refused(exc: CrmError) -> CrmError:
    if isinstance(exc, StaleDraft):
        return CrmError(t("studio.err.stale_form", who=exc.extra.get("changed_by") or t("studio.someone")))
    return exc


def _escalations(entity: dict[str, Any]) -> list[dict[str, Any]]:
    docs = services().metadata.draft().documents.get("trigger", {})
    found = []
    for name, doc in sorted(docs.items()):
        if doc.get("entity") == entity["name"] and (doc.get("schedule") or {}).get("state"):
            found.append({"name": name, "label": label_of(doc, name), "when": schedule_words(doc, entity)})
    return found


def _drawings(entity: dict[str, Any], workflow: dict[str, Any]) -> dict[str, Any]:
    colours = colours_of(entity, workflow)
    words = "; ".join(
        f"{label_of(x, x['name'])}: {', '.join(map(str, x.get('from') or []))} → {x.get('to')}"
        for x in workflow.get("transitions") or []
    )
    title = t("studio.wf.diagram_of", name=label_of(workflow, workflow["name"]))
    return {
        # Top to bottom: it reads at its natural size in the editor pane and on a phone alike.
        "svg": diagram(workflow, colours, label_of, vertical=True, title=title, description=words),
        "tones": {n: tone(c) for n, c in colours.items()},
    }


@bp.get("/entities/<name>/workflow")
@login_required
@configure_required
def designer(name: str) -> Any:
    """An entity's workflow: the diagram, its states, transitions and escalations (or the create form)."""
    entity = entity_doc(name)
    wname, workflow = _workflow(name)
    selects = [
        (f["name"], label_of(f, f["name"])) for f in entity.get("fields") or [] if f.get("type") == "select"
    ]
    extra = _drawings(entity, workflow) if workflow else {}
    return studio_page(
        "studio/workflow.html",
        doc=entity,
        current=name,
        workflow=workflow,
        wname=wname,
        selects=selects,
        escalations=_escalations(entity),
        base=fingerprint(workflow) if workflow else "",
        **extra,
    )


@bp.post("/entities/<name>/workflow")
@login_required
@configure_required
def create(name: str) -> Any:
    """Start a workflow on a select field: its options become the states, the first one initial."""
    entity = entity_doc(name)
    wname, workflow = _workflow(name)
    if workflow is not None:
        return redirect(url_for("studio.workflow.designer", name=name))
    field = next(
        (f for f in entity.get("fields") or [] if f.get("name") == text(request.form, "state_field", 63)),
        None,
    )
    if field is None or field.get("type") != "select":
        flash(t("studio.wf.err.state_field"), "error")
        return redirect(url_for("studio.workflow.designer", name=name)), 303
    states = [
        {"name": str(o["value"]), **({"label": o["label"]} if o.get("label") else {})}
        for o in field.get("options") or []
    ]
    states[0]["initial"] = True
    workflow = {
        "name": wname,
        "entity": name,
        "state_field": field["name"],
        "states": states,
        "transitions": [],
    }
    if text(request.form, "label_en") or text(request.form, "label_zh"):
        workflow["label"] = {
            k: v
            for k, v in {
                "en": text(request.form, "label_en"),
                "zh-CN": text(request.form, "label_zh"),
            }.items()
            if v
        }
    services().metadata.put_document("workflow", wname, workflow, username(), base="")
    flash(t("studio.wf.created"))
    return redirect(url_for("studio.workflow.designer", name=name))


def _loaded(name: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    entity = entity_doc(name)
    wname, workflow = _workflow(name)
    if workflow is None:
        raise NotFound(t("studio.wf.none"))
    return entity, wname, workflow


# A new state or transition has no key: "new" may well be the name of one.
@bp.route("/entities/<name>/workflow/states", methods=["GET", "POST"], defaults={"key": ""})
@bp.route("/entities/<name>/workflow/states/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def state(name: str, key: str) -> Any:
    """Add or change a state (and its option's label and colour); remove an unused one."""
    entity, wname, workflow = _loaded(name)
    base, base_entity = (
        fingerprint(workflow),
        fingerprint(services().metadata.draft().documents["entity"][name]),
    )
    current = next((s for s in workflow.get("states") or [] if s.get("name") == key), None)
    if key and current is None:
        raise NotFound(t("studio.wf.err.no_state"))
    error, status = None, 200
    shown = dict(current or {"name": ""})
    if request.method == "POST":
        try:
            if request.form.get("op") == "delete":
                problems = remove_state(workflow, key)
                changed = False
            else:
                shown = {"name": text(request.form, "name", 100) if not key else key}
                _, problems = apply_state(workflow, entity, key, request.form)
                changed = True
            if problems:
                raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
            _save(entity, wname, workflow, changed)
            flash(t("studio.wf.saved"))
            return redirect(url_for("studio.workflow.designer", name=name))
        except CrmError as exc:
            error, status = _refused(exc), 409 if isinstance(exc, StaleDraft) else 422
            shown.update(
                label={"en": text(request.form, "label_en"), "zh-CN": text(request.form, "label_zh")}
            )
    colour = colours_of(entity, workflow).get(key, "")
    return studio_page(
        "studio/workflow_state.html",
        status,
        doc=entity,
        current=name,
        state=shown,
        key=key,
        colour=colour,
        colour_names=COLOURS,
        base=base,
        base_entity=base_entity,
        error=error,
        problems=problems_by_path(error),
    )


def _role_names() -> list[str]:
    with services().engine.connect() as conn:
        return [str(r) for r in conn.execute(select(roles.c.name).order_by(roles.c.name)).scalars()]


@bp.route("/entities/<name>/workflow/transitions", methods=["GET", "POST"], defaults={"key": ""})
@bp.route("/entities/<name>/workflow/transitions/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def transition(name: str, key: str) -> Any:
    """Add or change a transition: from, to, guard, allowed roles, fields required on entry."""
    entity, wname, workflow = _loaded(name)
    base = fingerprint(workflow)
    old = next((x for x in workflow.get("transitions") or [] if x.get("name") == key), None)
    if key and old is None:
        raise NotFound(t("studio.wf.err.no_transition"))
    shown: dict[str, Any] = dict(old or {"name": "", "from": [], "to": ""})
    error, status, report = None, 200, None
    states = [str(s["name"]) for s in workflow.get("states") or []]
    op = request.form.get("op") if request.method == "POST" else None
    if op == "test":
        shown = transition_of(request.form, states, key)[0]
        guard = str(shown.get("guard") or "")
        report = test_transition(name, str(workflow["state_field"]), shown["from"], guard)
    elif op is not None:
        try:
            if op == "delete":
                workflow["transitions"] = [
                    x for x in workflow.get("transitions") or [] if x.get("name") != key
                ]
                problems: list[Problem] = []
            else:
                shown, problems = transition_of(request.form, states, key)
                problems = problems or put_transition(workflow, shown, key, old or {})
            if problems:
                raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
            _save(entity, wname, workflow, False)
            flash(t("studio.wf.saved"))
            return redirect(url_for("studio.workflow.designer", name=name))
        except CrmError as exc:
            error, status = _refused(exc), 409 if isinstance(exc, StaleDraft) else 422
    field = state_field(entity, workflow) or {}
    return studio_page(
        "studio/workflow_transition.html",
        status,
        doc=entity,
        current=name,
        transition=shown,
        key=key,
        report=report,
        states=[(s["name"], label_of(s, s["name"])) for s in workflow.get("states") or []],
        role_names=sorted({*_role_names(), *(shown.get("roles") or [])}),
        fields=[
            (f["name"], label_of(f, f["name"]))
            for f in entity.get("fields") or []
            if f.get("name") != field.get("name") and f.get("type") != "child_table"
        ],
        base=base,
        error=error,
        problems=problems_by_path(error),
    )


__all__ = ["bp"]
