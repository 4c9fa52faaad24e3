"""The one validation editor of the studio: a record-wide validation (entity ``rules.validations``) or
one field's (field ``rules.validations``), each a condition and a message in both languages.

The condition is checked by the rule engine's compiler (the expression editor's check), saved into the
draft through the metadata service like every studio edit, and tested on live data before publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, request, url_for

from crm_platform.api.common import username
from crm_platform.i18n import t
from crm_platform.pages.studio import studio_page
from crm_platform.pages.studiodryrun import test_validation
from crm_platform.pages.studioexpr import check_expression, draft_site
from crm_platform.pages.studiowords import label_of
from crm_platform.pages.triggerform import text
from crm_platform.services import services
from metamodel.errors import CrmError, MetadataInvalid, NotFound, Problem
from metamodel.versions import StaleDraft, fingerprint

# The metadata schema's limits: 50 record-wide validations, 20 per field, messages of 200 characters.
MAX_RECORD = 50
MAX_FIELD = 20
MAX_MESSAGE = 200


def refused(exc: CrmError) -> CrmError:
    """Say a refused stale save in the reader's language; other errors as they are."""
    if isinstance(exc, StaleDraft):
        return CrmError(t("studio.err.stale", who=exc.extra.get("changed_by") or t("studio.someone")))
    return exc


def problems_by_path(error: CrmError | None) -> dict[str, Problem]:
    """The problems of a refused save by form field, to show each next to its input."""
    return {p.path: p for p in (error.problems if error is not None else [])}


def field_of(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The field ``name`` of an entity document (the document's own dict, to edit in place); 404 when absent."""
    found = next((f for f in doc.get("fields") or [] if f.get("name") == name[:63]), None)
    if found is None:
        raise NotFound(t("studio.err.no_field", name=name[:63]))
    return found  # type: ignore[no-any-return]


def read_rule(form: Mapping[str, str], entity: str, on_field: bool) -> tuple[dict[str, Any], list[Problem]]:
    """The validation the form describes and its problems; the condition is compiled by the rule engine."""
    rule: dict[str, Any] = {"condition": text(form, "condition", 2000)}
    message = {"en": text(form, "message_en", MAX_MESSAGE), "zh-CN": text(form, "message_zh", MAX_MESSAGE)}
    rule["message"] = {k: v for k, v in message.items() if v}
    if not on_field and text(form, "field", 63):
        rule["field"] = text(form, "field", 63)
    problems = []
    if not rule["condition"]:
        problems.append(Problem("condition", t("studio.rules.err.condition"), "required"))
    else:
        verdict = check_expression(draft_site(), entity, rule["condition"], "condition")
        if not verdict["ok"]:
            problems.append(Problem("condition", str(verdict["message"]), str(verdict["position"] or "")))
    if not rule["message"]:
        problems.append(Problem("message_en", t("studio.rules.err.message"), "required"))
    return rule, problems


def tidy(holder: dict[str, Any]) -> None:
    """Drop an emptied validations list and rules object (the schema wants none rather than empty ones)."""
    rules = holder.get("rules") or {}
    if not rules.get("validations"):
        rules.pop("validations", None)
    if not rules:
        holder.pop("rules", None)


def field_test(entity: str, field: str, condition: str) -> dict[str, Any]:
    """The records whose value of ``field`` breaks a field validation now (empty values are not judged)."""
    return test_validation(entity, f"{field} == null or ({condition})")


def validation_page(name: str, doc: dict[str, Any], field: str | None, key: str) -> Any:
    """Add, edit, test or remove one validation of entity ``doc`` (of its field ``field`` when given)."""
    owner = field_of(doc, field) if field else None
    holder = owner if owner is not None else doc
    found = holder.setdefault("rules", {}).setdefault("validations", [])
    index = int(key) if key.isdigit() and int(key) < len(found) else None
    if key != "new" and index is None:
        raise NotFound(t("studio.rules.err.no_rule"))
    rule = found[index] if index is not None else {"condition": "", "message": {}}
    base = fingerprint(services().metadata.draft().documents["entity"][name])
    back = (
        url_for("studio.field.field_page", name=name, field=field)
        if field
        else url_for("studio.rules.rules_home", name=name)
    )
    report, error, status = None, None, 200
    if request.method == "POST":
        op = request.form.get("op")
        rule, problems = read_rule(request.form, name, owner is not None)
        try:
            if op == "test" and rule["condition"]:
                report = (
                    field_test(name, field, rule["condition"])
                    if field
                    else test_validation(name, rule["condition"])
                )
            elif op == "delete" and index is not None:
                del found[index]
                tidy(holder)
                _save(name, doc)
                flash(t("studio.rules.removed"))
                return redirect(back)
            elif op == "save":
                if problems:
                    raise MetadataInvalid(t("studio.rules.err.invalid"), problems)
                limit = MAX_FIELD if owner is not None else MAX_RECORD
                if index is None and len(found) >= limit:
                    too_many = "studio.rules.err.too_many_field" if owner else "studio.rules.err.too_many"
                    raise CrmError(t(too_many))
                if index is None:
                    found.append(rule)
                else:
                    found[index] = rule
                _save(name, doc)
                flash(t("studio.rules.saved"))
                return redirect(back)
        except CrmError as exc:
            error, status = refused(exc), 409 if isinstance(exc, StaleDraft) else 422
    return studio_page(
        "studio/rules_validation.html",
        status,
        doc=doc,
        current=name,
        rule=rule,
        key=key,
        base=base,
        report=report,
        error=error,
        problems=problems_by_path(error),
        owner=owner,
        back=back,
        fields=[(f["name"], label_of(f, f["name"])) for f in doc.get("fields") or []],
    )


def _save(name: str, doc: dict[str, Any]) -> None:
    # The fingerprint of the entity the admin opened: someone else's save since is refused, not lost.
    services().metadata.put_document("entity", name, doc, username(), base=text(request.form, "base", 64))


__all__ = ["field_of", "problems_by_path", "read_rule", "refused", "tidy", "validation_page"]
