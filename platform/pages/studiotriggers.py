"""The rule builder's triggers: event triggers and time triggers (relative to a date field, time in a
state, cron) with their actions, built from a form, tested on live data (the dry run) before publish.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import login_required

from crm_platform.api.common import configure_required, username
from crm_platform.api.dryruntimes import dry_run_times
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiodryrun import test_trigger
from crm_platform.pages.studioexpr import draft_site
from crm_platform.pages.studiorules import bp, entity_doc, problems_by_path
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import (
    ACTION_TYPES,
    EVENTS,
    action_slots,
    schedule_kind,
    text,
    trigger_of,
)
from crm_platform.services import services
from crm_platform.timezones import user_zone
from metamodel.errors import CrmError, MetadataInvalid, NotFound, Problem
from metamodel.versions import StaleDraft, fingerprint
from rule_engine.triggers.checks import check_trigger


def _workflow(entity: str) -> dict[str, Any]:
    docs = services().metadata.draft().documents.get("workflow", {})
    return next((docs[n] for n in sorted(docs) if docs[n].get("entity") == entity), {})


def _choices(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the form's selects offer: fields, date fields, states, transitions, entities."""
    fields = [f for f in doc.get("fields") or [] if f.get("type") != "child_table"]
    workflow = _workflow(doc["name"])
    entities = services().metadata.draft().documents.get("entity", {})
    return {
        "fields": [(f["name"], label_of(f, f["name"])) for f in fields],
        "date_fields": [
            (f["name"], label_of(f, f["name"])) for f in fields if f["type"] in ("date", "datetime")
        ],
        "states": [(s["name"], label_of(s, s["name"])) for s in workflow.get("states") or []],
        "transitions": [(x["name"], label_of(x, x["name"])) for x in workflow.get("transitions") or []],
        "targets": [(n, label_of(d, n)) for n, d in sorted(entities.items()) if not d.get("is_child")],
        "events": EVENTS,
        "action_types": ACTION_TYPES,
    }


def _new_trigger(entity: str, args: Mapping[str, str]) -> dict[str, Any]:
    """A new trigger; ``?event=time&state=open`` starts a time-in-state escalation."""
    doc: dict[str, Any] = {"name": "", "entity": entity, "event": "update", "enabled": True, "actions": []}
    if args.get("event") == "time":
        doc["event"] = "time"
        doc["schedule"] = {"state": text(args, "state", 100), "in_state_hours": 48}
    return doc


def _engine_problems(doc: dict[str, Any]) -> list[Problem]:
    """The rule engine's own checks of the trigger against the draft."""
    try:
        return check_trigger(doc, draft_site(), services().rules, "trigger")
    except CrmError as exc:
        return [Problem("trigger", exc.message, "invalid")]


def _save(doc: dict[str, Any], key: str) -> None:
    metadata = services().metadata
    existing = metadata.draft().documents.get("trigger", {})
    if not key and doc["name"] in existing:
        raise MetadataInvalid(
            t("studio.rules.err.invalid"),
            [Problem("name", t("studio.rules.err.exists", name=doc["name"]), "")],
        )
    if key and doc["name"] != key:
        raise MetadataInvalid(
            t("studio.rules.err.invalid"), [Problem("name", t("studio.rules.err.rename"), "")]
        )
    problems = _engine_problems(doc)
    if problems:
        raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
    base = text(request.form, "base", 64)
    metadata.put_document("trigger", doc["name"], doc, username(), base=base if key else "")


# A new trigger has no key: "new" may well be the name of one.
@bp.route("/entities/<name>/rules/triggers", methods=["GET", "POST"], defaults={"key": ""})
@bp.route("/entities/<name>/rules/triggers/<key>", methods=["GET", "POST"])
@login_required
@configure_required
def trigger(name: str, key: str) -> Any:
    """Add or edit one trigger of the entity; test it on live data; remove it."""
    entity = entity_doc(name)
    existing = services().metadata.draft().documents.get("trigger", {})
    if not key:
        doc = _new_trigger(name, request.args)
    elif existing.get(key[:40], {}).get("entity") == name:
        doc = json.loads(json.dumps(existing[key[:40]]))
    else:
        raise NotFound(t("studio.rules.err.no_rule"))
    base = fingerprint(existing[key]) if key in existing else ""
    report, error, status = None, None, 200
    if request.method == "POST":
        op = request.form.get("op")
        doc, problems = trigger_of(request.form, draft_site(), name)
        try:
            if op == "delete" and key in existing:
                services().metadata.delete_document("trigger", key)
                flash(t("studio.rules.removed"))
                return redirect(url_for("studio.rules.rules_home", name=name))
            if op == "test":
                asked = {
                    "from": request.form.get("test_from", ""),
                    "until": request.form.get("test_until", ""),
                }
                times = dry_run_times(asked, services().rules.clock(), user_zone())
                report = test_trigger(doc, times)
            elif op == "save":
                if problems:
                    raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
                _save(doc, key)
                flash(t("studio.rules.saved"))
                return redirect(url_for("studio.rules.rules_home", name=name))
        except CrmError as exc:
            if isinstance(exc, StaleDraft):
                exc = CrmError(t("studio.err.stale", who=exc.extra.get("changed_by") or t("studio.someone")))
            error, status = exc, 409 if exc.status == 409 else 422
    return studio_page(
        "studio/rules_trigger.html",
        status,
        doc=entity,
        current=name,
        trigger=doc,
        key=key,
        base=base,
        kind=schedule_kind(doc),
        slots=action_slots(doc),
        report=report,
        error=error,
        problems=problems_by_path(error),
        **_choices(entity),
    )


__all__ = ["trigger"]
