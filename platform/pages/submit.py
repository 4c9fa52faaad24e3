"""Saving a posted form: parse, store uploads, validate through the generated schema, write, re-show on errors."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm_platform.i18n import current_locale, t
from crm_platform.pages.fieldaccess import reader_access, writable_only
from crm_platform.pages.formstate import states_for
from crm_platform.problemwords import worded
from crm_platform.services import services
from crm_platform.timezones import form_reader
from form_renderer.formdata import parse_form, problems_by_path
from form_renderer.layout import build_form
from form_renderer.schemas import load_record
from metamodel.attachments import TooLarge
from metamodel.errors import Conflict, Problem, ProblemList, RecordInvalid
from metamodel.fieldtypes.misc import AttachmentType
from metamodel.model import EntityModel
from metamodel.records.pipeline import MAX_DERIVE_DEPTH


def save_from_form(model: EntityModel, record_id: int | None) -> Any:
    """Create or update a record from ``request.form``; 422 with inline errors when invalid."""
    svc = services()
    site = svc.metadata.model()
    problems = ProblemList()
    access = reader_access()
    data = writable_only(parse_form(site, model, request.form, problems, form_reader()), model, access)
    _store_uploads(model, data, problems)
    version_text = request.form.get("lock_version", "")
    expected = int(version_text) if version_text.isdigit() else None
    message = ""
    status = 422
    if not problems:
        try:
            values = load_record(site, model.name, data, partial=record_id is not None)
            runtime = svc.runtime()
            record: dict[str, Any] | None
            if record_id is None:
                record = runtime.create(model.name, values, current_user.actor())
            else:
                record = runtime.update(
                    model.name, record_id, values, current_user.actor(), expected_version=expected
                )
            flash(t("record.saved"))
            return redirect(url_for("pages.record_detail", entity=model.name, record_id=record["id"]))
        except RecordInvalid as exc:
            problems.problems += exc.problems
        except Conflict as exc:
            message, status = exc.message, 409
    errors = problems_by_path(problems, _worded)
    record = None
    if record_id is not None:
        record = svc.runtime().get(model.name, record_id, current_user.actor())
        # Keep what the user typed, but let them resubmit against the version they saw.
        record = {**record, "lock_version": expected if expected is not None else record["lock_version"]}
    shown = {**(record or {}), **data} if record is not None else data
    states = states_for(model, shown, record)
    form = build_form(
        site, model, shown, errors, current_locale(), _titles(model, data), access, svc.presentations, states
    )
    if not message and problems:
        # Problems no input of this form can show (the whole record's, another record's moved by this
        # save: a full class, a loop of rules) are said at the top, or the user sees no reason at all.
        unplaced = [text for path, text in errors.items() if _field_of(path) not in model.fields]
        marked = len(unplaced) < len(errors)
        message = " ".join([t("form.fix_errors")] * marked + unplaced)
    return render_template("pages/form.html", model=model, form=form, record=record, message=message), status


def _field_of(path: str) -> str:
    """Return the field a problem's path points into (``lines[0].qty`` -> ``lines``)."""
    return path.split("[", 1)[0].split(".", 1)[0].split("-", 1)[0]


def _worded(problem: Problem) -> str:
    if problem.code == "derive_depth":  # a loop of derived writes: the engine's message names internals
        return t("error.derive_depth", n=MAX_DERIVE_DEPTH)
    return worded(problem.message)


def _titles(model: EntityModel, data: dict[str, Any]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for definition in model.column_fields():
        value = data.get(definition.name)
        if definition.type == "link" and isinstance(value, str) and value.isdigit():
            found = (
                services()
                .runtime()
                .titles(str(definition.get("target")), [int(value)], actor=current_user.actor())
            )
            titles[definition.name] = found.get(int(value), "")
    return titles


def _store_uploads(model: EntityModel, data: dict[str, Any], problems: ProblemList) -> None:
    for definition in model.column_fields():
        if definition.type != "attachment":
            continue
        field_type = model.types[definition.name]
        upload = request.files.get(definition.name)
        if upload is not None and upload.filename:
            if not isinstance(field_type, AttachmentType):
                continue
            if not field_type.accepts(definition, upload.filename, upload.mimetype or ""):
                problems.add(definition.name, t("form.file_type_refused"), "accept")
                continue
            try:
                stored = services().attachments.save(
                    upload.stream,
                    upload.filename,
                    upload.mimetype or "application/octet-stream",
                    field_type.max_size(definition),
                    current_user.id,
                )
            except TooLarge:
                problems.add(definition.name, t("form.file_too_large"), "max_size")
                continue
            data[definition.name] = stored.id
        elif request.form.get(f"{definition.name}-clear"):
            data[definition.name] = None
