"""Bulk actions on a list's selection: each record goes through the one record runtime (or the workflow
service) on its own, so every rule, guard and permission applies per record and refusals are reported
per record instead of failing the whole selection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from form_renderer.formdata import FormReader, parse_form
from form_renderer.schemas import load_record
from metamodel.errors import CrmError, ProblemList, RecordInvalid
from metamodel.model import SiteModel
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime

MAX_BULK = 500


@dataclass
class BulkResult:
    """What a bulk action did: the records changed and, per refused record, why."""

    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def problem_text(exc: CrmError) -> str:
    """Return an error's message with its field problems, for one refused record."""
    details = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems)
    return f"{exc.message} ({details})" if details else exc.message


def form_values(
    site: SiteModel, entity: str, form: Mapping[str, list[str]], reader: FormReader | None = None
) -> dict[str, Any]:
    """Convert posted form text of some fields into record values exactly as the record form does
    (``reader`` reads datetimes in the reader's zone; without one they are UTC)."""
    problems = ProblemList()
    posted = MultiDict([(key, value) for key, values in form.items() for value in values])
    if not posted:
        posted = MultiDict({f"{key}-present": "1" for key in form})  # an emptied multi-select
    data = parse_form(site, site.entity(entity), posted, problems, reader)
    if problems:
        raise RecordInvalid(f"the {entity} record is not valid", problems.problems)
    return load_record(site, entity, data, partial=True)


def each(ids: list[int], act: Callable[[int], Any]) -> BulkResult:
    """Run ``act`` on every id, collecting refusals (a refused record leaves the others alone)."""
    result = BulkResult()
    for record_id in ids[:MAX_BULK]:
        try:
            act(record_id)
        except CrmError as exc:
            result.refused.append((record_id, problem_text(exc)))
        else:
            result.done.append(record_id)
    return result


def set_field(
    runtime: RecordRuntime,
    entity: str,
    ids: list[int],
    name: str,
    text: list[str],
    actor: Actor,
    reader: FormReader | None = None,
) -> BulkResult:
    """Set one field on every selected record (the value parsed and validated as the form does)."""
    try:
        values = form_values(runtime.model, entity, {name: text}, reader)
    except CrmError as exc:
        return BulkResult(refused=[(record_id, problem_text(exc)) for record_id in ids[:MAX_BULK]])
    return each(ids, lambda record_id: runtime.update(entity, record_id, values, actor))


def assign(
    runtime: RecordRuntime, entity: str, ids: list[int], owner_id: int | None, actor: Actor
) -> BulkResult:
    """Hand every selected record to ``owner_id`` (needs update permission on each)."""
    return each(ids, lambda record_id: runtime.set_owner(entity, record_id, owner_id, actor))


def delete(runtime: RecordRuntime, entity: str, ids: list[int], actor: Actor) -> BulkResult:
    """Delete every selected record the user may delete."""
    return each(ids, lambda record_id: runtime.delete(entity, record_id, actor))


def transition(
    service: Any, runtime: RecordRuntime, entity: str, ids: list[int], name: str, actor: Actor
) -> BulkResult:
    """Take workflow transition ``name`` on every selected record; guards refuse per record."""
    return each(ids, lambda record_id: service.transition(runtime, entity, record_id, name, actor=actor))
