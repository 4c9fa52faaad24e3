"""Which fields a board groups by, shows on its cards and sums, and which date a calendar uses.

Defaults come from the metadata (the workflow's state field or the first select; the list's first fields;
the first number; the first date); an entity's ``views`` settings override them, and the page's switcher
(``?group=``, ``?sum=``, ``?date=``) overrides both. Fields hidden from the reader are never offered, and
masked ones are never grouped, summed or dated by (that would reveal them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metamodel.definitions import FieldDef
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import EntityModel
from metamodel.viewsettings import MAX_CARD_FIELDS, datable, groupable, summable, view_settings
from rule_engine.workflow import WorkflowSpec

_NOT_ON_CARDS = ("long_text", "json", "attachment", "child_table", "multi_line")


@dataclass(frozen=True)
class BoardSetup:
    """The fields of one board as the reader sees it."""

    group: FieldDef
    groups: tuple[FieldDef, ...]  # what the switcher offers
    card_fields: tuple[FieldDef, ...]
    sum_field: FieldDef | None
    sums: tuple[FieldDef, ...]
    workflow: WorkflowSpec | None  # set when the board groups by the workflow's state field


def _level(restricted: Mapping[str, Any], name: str) -> str:
    rule = restricted.get(name)
    return str(rule.level) if rule is not None else "full"


def _open(restricted: Mapping[str, Any], field: FieldDef, model: EntityModel) -> bool:
    """Whether the reader sees the field's clear value (not hidden, masked or encrypted)."""
    return _level(restricted, field.name) not in ("hidden", "masked") and field.name not in model.seals


def _pick(chosen: str | None, offered: tuple[FieldDef, ...]) -> FieldDef | None:
    return next((f for f in offered if f.name == chosen), None)


def board_setup(
    model: EntityModel,
    registry: FieldTypeRegistry,
    restricted: Mapping[str, Any],
    workflow: WorkflowSpec | None,
    asked: Mapping[str, str],
) -> BoardSetup | None:
    """Return the board's fields, or None when the entity has no field a board can group by."""
    settings = view_settings(model.entity)
    fields = [f for f in model.column_fields() if _open(restricted, f, model)]
    groups = tuple(f for f in fields if groupable(f, registry))
    if workflow is not None:  # the state field first: the board follows the workflow
        groups = tuple(sorted(groups, key=lambda f: f.name != workflow.state_field))
    if not groups:
        return None
    group = _pick(asked.get("group"), groups) or _pick(settings.group_field, groups) or groups[0]
    sums = tuple(f for f in fields if summable(f, registry))
    wanted_sum = asked.get("sum", settings.sum_field)
    sum_field = None if wanted_sum == "" else (_pick(wanted_sum, sums) or (sums[0] if sums else None))
    visible = [f for f in model.column_fields() if _level(restricted, f.name) != "hidden"]
    names = settings.card_fields
    if names is None:
        listed = model.entity.doc.get("list_fields") or [f.name for f in visible]
        names = tuple(n for n in listed if n not in (model.entity.title_field, group.name))
    shown = {f.name: f for f in visible if f.type not in _NOT_ON_CARDS}
    cards = tuple(shown[n] for n in names if n in shown)[:MAX_CARD_FIELDS]
    on_flow = workflow if workflow is not None and workflow.state_field == group.name else None
    return BoardSetup(group, groups, cards, sum_field, sums, on_flow)


def date_fields(
    model: EntityModel, registry: FieldTypeRegistry, restricted: Mapping[str, Any]
) -> tuple[FieldDef, ...]:
    """Return the date and datetime fields a calendar may use, the configured one first."""
    found = tuple(f for f in model.column_fields() if datable(f, registry) and _open(restricted, f, model))
    chosen = view_settings(model.entity).date_field
    return tuple(sorted(found, key=lambda f: f.name != chosen))
