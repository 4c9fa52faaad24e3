"""Turning a posted HTML form into raw record input, through each field type's ``from_form``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from form_renderer.presentation.base import PresentationRegistry
from metamodel.definitions import FieldDef
from metamodel.errors import ProblemList
from metamodel.fieldtypes.base import ValueProblem
from metamodel.model import EntityModel, SiteModel

_LINE_KEY = re.compile(r"^(?P<field>[a-z][a-z0-9_]*)-(?P<index>\d{1,4})-(?P<name>[a-z][a-z0-9_]*)$")
MAX_LINES = 1000


class MultiDictLike(Protocol):
    """What a posted form offers (werkzeug's MultiDict does)."""

    def getlist(self, key: str) -> list[str]:
        """Return every value posted under ``key``."""
        ...

    def keys(self) -> Any:
        """Return the posted keys."""
        ...


class FormReader:
    """Reads what a form posted for one field: its presentation first (a datetime typed in the reader's
    zone becomes UTC), then its field type's ``from_form``."""

    def __init__(self, presentations: PresentationRegistry | None = None, zone: dt.tzinfo = dt.UTC) -> None:
        self.presentations = presentations
        self.zone = zone

    def values(self, definition: FieldDef, posted: list[str]) -> list[str]:
        """Return the posted strings as the field type reads them."""
        if self.presentations is None:
            return posted
        return self.presentations.of(definition.type).form_values(definition, posted, self.zone)


def parse_form(
    site: SiteModel,
    model: EntityModel,
    form: MultiDictLike,
    problems: ProblemList,
    reader: FormReader | None = None,
) -> dict[str, Any]:
    """Return raw record input from a posted form; fields posting unparseable text add problems.

    ``reader`` reads values typed in the reader's zone; without one a datetime without offset is UTC.
    """
    reader = reader or FormReader()
    data: dict[str, Any] = {}
    keys = set(form.keys())
    for definition in model.entity.fields:
        name = definition.name
        field_type = model.types[name]
        if definition.type == "child_table":
            if f"{name}-present" in keys:
                child = site.entity(str(definition.get("child_entity")))
                data[name] = _parse_lines(child, name, form, keys, problems, reader)
            continue
        if definition.type == "attachment":
            continue  # files arrive separately (multipart); the page stores them and sets the id
        if name not in keys and f"{name}-present" not in keys:
            continue  # not on this form (hidden or placed elsewhere): leave the stored value alone
        try:
            data[name] = field_type.from_form(definition, reader.values(definition, form.getlist(name)))
        except ValueProblem as exc:
            problems.add(name, exc.message, exc.code)
    return data


def _parse_lines(
    child: EntityModel,
    field_name: str,
    form: MultiDictLike,
    keys: set[str],
    problems: ProblemList,
    reader: FormReader,
) -> list[dict[str, Any]]:
    indexes: set[int] = set()
    for key in keys:
        match = _LINE_KEY.match(key)
        if match and match.group("field") == field_name:
            indexes.add(int(match.group("index")))
    rows: list[dict[str, Any]] = []
    for position, index in enumerate(sorted(indexes)[:MAX_LINES]):
        prefix = f"{field_name}-{index}-"
        row: dict[str, Any] = {}
        line_id = (form.getlist(prefix + "id") or [""])[-1].strip()
        if line_id:
            row["id"] = int(line_id) if line_id.isdigit() else line_id
        for definition in child.entity.fields:
            key = prefix + definition.name
            if key not in keys and key + "-present" not in keys:
                continue
            try:
                posted = reader.values(definition, form.getlist(key))
                row[definition.name] = child.types[definition.name].from_form(definition, posted)
            except ValueProblem as exc:
                problems.add(f"{field_name}[{position}].{definition.name}", exc.message, exc.code)
        rows.append(row)
    return rows


def problems_by_path(
    problems: ProblemList | Any, translate: Callable[[Any], str] | None = None
) -> dict[str, str]:
    """Return ``{path: message}``, joining several messages for one path; ``translate`` words each problem."""
    found: dict[str, str] = {}
    items: Iterable[Any] = problems.problems if isinstance(problems, ProblemList) else problems
    for problem in items:
        message = translate(problem) if translate else problem.message
        found[problem.path] = f"{found[problem.path]}; {message}" if problem.path in found else message
    return found
