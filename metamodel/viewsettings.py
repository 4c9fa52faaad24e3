"""An entity's board and calendar settings (its ``views`` key) and their checks at publish time.

Each setting is optional: the pages pick sensible defaults from the metadata when one is unset (the
workflow's state field or the first select, the first fields, the first number, the first date).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metamodel.definitions import EntityDef, FieldDef
from metamodel.errors import Problem
from metamodel.fieldtypes.base import FieldTypeRegistry

MAX_CARD_FIELDS = 3


@dataclass(frozen=True)
class ViewSettings:
    """What the author chose for the board and the calendar of one entity (None: the page's default)."""

    group_field: str | None = None
    card_fields: tuple[str, ...] | None = None
    sum_field: str | None = None
    date_field: str | None = None


def view_settings(entity: EntityDef) -> ViewSettings:
    """Return the entity's view settings (all None when it has none)."""
    doc: Any = entity.doc.get("views")
    board = doc.get("board") if isinstance(doc, dict) else None
    calendar = doc.get("calendar") if isinstance(doc, dict) else None
    board = board if isinstance(board, dict) else {}
    calendar = calendar if isinstance(calendar, dict) else {}
    cards = board.get("card_fields")
    return ViewSettings(
        group_field=board.get("group_field"),
        card_fields=tuple(str(n) for n in cards) if isinstance(cards, list) else None,
        sum_field=board.get("sum_field"),
        date_field=calendar.get("date_field"),
    )


def groupable(field: FieldDef, registry: FieldTypeRegistry) -> bool:
    """Whether a board may have a column per value of ``field`` (single choices: select, boolean)."""
    return field.type in registry and bool(field.choices) and registry.of(field).groupable


def summable(field: FieldDef, registry: FieldTypeRegistry) -> bool:
    """Whether a board column may show the sum of ``field``."""
    return field.type in registry and "sum" in registry.of(field).measures


def datable(field: FieldDef, registry: FieldTypeRegistry) -> bool:
    """Whether a calendar may place records by ``field`` (a date or datetime)."""
    return field.type in registry and registry.of(field).temporal


def check_views(entity: EntityDef, registry: FieldTypeRegistry) -> list[Problem]:
    """Return the problems of the entity's ``views`` settings (field references and their types)."""
    doc = entity.doc.get("views")
    if not isinstance(doc, dict):
        return []
    prefix = f"entity.{entity.name}.views"
    if entity.is_child:
        return [Problem(prefix, "a child-table entity has no board or calendar of its own", "invalid")]
    settings = view_settings(entity)
    problems: list[Problem] = []
    checks: list[tuple[str, str | None, Callable[[FieldDef, FieldTypeRegistry], bool], str]] = [
        (f"{prefix}.board.group_field", settings.group_field, groupable, "a select field"),
        (f"{prefix}.board.sum_field", settings.sum_field, summable, "a number or money field"),
        (f"{prefix}.calendar.date_field", settings.date_field, datable, "a date or datetime field"),
    ]
    for index, card in enumerate(settings.card_fields or ()):
        checks.append((f"{prefix}.board.card_fields[{index}]", card, _has_value, "a field with a value"))
    for path, name, fits, wanted in checks:
        if name is None:
            continue
        field = entity.field(name)
        if field is None:
            problems.append(Problem(path, f"unknown field '{name}'", "reference"))
        elif not fits(field, registry):
            problems.append(
                Problem(path, f"'{name}' is a {field.type} field; it must be {wanted}", "invalid")
            )
    return problems


def _has_value(field: FieldDef, registry: FieldTypeRegistry) -> bool:
    return field.type in registry and registry.of(field).has_column
