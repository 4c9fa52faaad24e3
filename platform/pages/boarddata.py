"""The board's data: one column per state (or option) with its count and sum from one GROUP BY, and the
first cards of each column from a list query; both run with the reader's row scope and field rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from markupsafe import Markup
from sqlalchemy import select

from crm_platform.i18n import current_locale
from crm_platform.pages.boardsetup import BoardSetup
from crm_platform.pages.helpers import display_context
from crm_platform.services import services
from crm_platform.timezones import user_zone
from form_renderer.listview import Restricted, cell
from form_renderer.presentation import Shown
from form_renderer.presentation.moments import as_moment
from metamodel.model import EntityModel
from metamodel.records.aggregate import AggregateQuery, Dimension, Measure
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.systables import users

CARDS_PER_COLUMN = 20
NONE_VALUE = "__none__"  # the column of records without a value (a select board only)


@dataclass
class Card:
    """One card: the record's title, three fields, owner and age."""

    id: int
    title: str
    url: str
    value: str  # the column it sits in
    lock_version: int
    cells: list[tuple[str, Markup]]
    owner: str
    age_days: int | None


@dataclass
class Column:
    """One column of the board."""

    value: str
    label: str
    count: int = 0
    total: Markup | None = None
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None


def column_values(model: EntityModel, setup: BoardSetup) -> list[tuple[str, str]]:
    """Return (value, label) of each column in order: the workflow's states, else the field's options."""
    locale = current_locale()
    if setup.workflow is not None:
        spec = setup.workflow
        return [(s, _label(spec.labels.get(s), setup.group.choice_label(s, locale))) for s in spec.states]
    return [
        (str(c.get("value")), setup.group.choice_label(str(c.get("value")), locale))
        for c in setup.group.choices
    ]


def _label(labels: Any, fallback: str) -> str:
    labels = labels or {}
    return str(labels.get(current_locale()) or labels.get("en") or fallback)


def totals(
    model: EntityModel, setup: BoardSetup, filters: Sequence[Filter], actor: Actor
) -> dict[str, tuple[int, Markup | None]]:
    """Return each column's (count, formatted sum), from one GROUP BY over what the reader may read."""
    measures = [Measure("count")] + ([Measure("sum", setup.sum_field.name)] if setup.sum_field else [])
    query = AggregateQuery([Dimension(setup.group.name)], measures, list(filters))
    result = services().runtime().aggregate(model.name, query, actor)
    found: dict[str, tuple[int, Markup | None]] = {}
    ctx = display_context()
    for row in result.rows:
        value = row[setup.group.name]
        total = None
        if setup.sum_field is not None:
            shown = Shown(setup.sum_field, row.get(f"sum__{setup.sum_field.name}") or 0)
            total = services().presentations.present(shown, ctx, cell=True)
        found[NONE_VALUE if value is None else str(value)] = (int(row["count"]), total)
    return found


def column_filter(setup: BoardSetup, value: str) -> Filter:
    """Return the condition that selects the cards of one column."""
    if value == NONE_VALUE:
        return Filter(setup.group.name, "isnull", True)
    return Filter(setup.group.name, "eq", value)


def load_cards(
    model: EntityModel,
    setup: BoardSetup,
    value: str,
    filters: Sequence[Filter],
    actor: Actor,
    restricted: Restricted,
    cursor: str | None = None,
) -> tuple[list[Card], str | None]:
    """Return one column's next cards (newest first) and the cursor of the ones after them."""
    runtime = services().runtime()
    query = ListQuery(
        filters=[*filters, column_filter(setup, value)], sort="-id", limit=CARDS_PER_COLUMN, cursor=cursor
    )
    page = runtime.list(model.name, query, actor)
    ids = [int(r["id"]) for r in page.items]
    titles = runtime.titles(model.name, ids, actor=actor) if ids else {}
    owners = _owner_names({int(r["owner_id"]) for r in page.items if r.get("owner_id") is not None})
    ctx = display_context()
    presentations = services().presentations
    zone = user_zone()
    today = services().clock().astimezone(zone).date()  # ages count the reader's calendar days
    cards = []
    for record in page.items:
        created = as_moment(record.get("created_at")) if record.get("created_at") else None
        born = created.astimezone(zone).date() if created else None
        cards.append(
            Card(
                id=int(record["id"]),
                title=titles.get(int(record["id"]), f"#{record['id']}"),
                url=url_for("pages.record_detail", entity=model.name, record_id=record["id"]),
                value=value,
                lock_version=int(record.get("lock_version") or 0),
                cells=[
                    (f.label(ctx.locale), cell(presentations, f, record, ctx, restricted))
                    for f in setup.card_fields
                ],
                owner=owners.get(record.get("owner_id") or 0, ""),
                age_days=(today - born).days if born else None,
            )
        )
    return cards, page.next_cursor if page.has_more else None


def _owner_names(ids: set[int]) -> dict[int, str]:
    """Return the display name (else the user name) of each owner, for the cards' avatars."""
    if not ids:
        return {}
    with services().engine.connect() as conn:
        rows = conn.execute(
            select(users.c.id, users.c.username, users.c.display_name).where(users.c.id.in_(sorted(ids)))
        )
        return {int(r.id): str(r.display_name or r.username) for r in rows}
