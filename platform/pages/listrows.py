"""The rows of the list page's table, drawn with each column's fixed markup worked out once per page.

A page shows 50 rows of several columns; what a cell's ``<td>`` says of its column (label, classes, the
inline editor's kind and options) is the same on every row, so it is built once and each row adds only
its value. The cells keep the markup the template drew before: ``<td data-label class [data-field
data-kind data-value data-options]>`` around the presented value, the title cell linking to the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from crm_platform.pages.helpers import datetime_input
from form_renderer.listview import Column
from form_renderer.presentation import DisplayContext, PresentationRegistry, Shown
from metamodel.model import EntityModel


@dataclass(frozen=True)
class Row:
    """One drawn row: what the template's own cells need, and the column cells as markup."""

    id: int
    number: Any
    version: Any
    href: str
    pooled: bool
    cells: Markup


@dataclass(frozen=True)
class _Painter:
    """One column's fixed part and how its value becomes a cell."""

    name: str
    shown_field: Any
    masked: bool
    head: str  # ``<td data-label=".." class=".."`` plus data-field and data-kind when editable
    editable: bool
    moment: bool  # a datetime-local editor: its data-value is the reader's wall time
    options: str  # `` data-options='[..]'`` of an editor with options, else ""
    title: bool  # the entity's title: the text links to the record


def record_href(entity: str) -> Callable[[int], str]:
    """Return a function giving a record page's URL from its id, building the route once per page."""
    probe = url_for("pages.record_detail", entity=entity, record_id=0)
    if probe.endswith("/0"):
        head = probe[:-1]
        return lambda record_id: head + str(record_id)
    return lambda record_id: url_for("pages.record_detail", entity=entity, record_id=record_id)


def _painters(model: EntityModel, columns: list[Column], restricted: Mapping[str, Any]) -> list[_Painter]:
    title_field = model.entity.doc.get("title_field")
    policies = current_app.jinja_env.policies
    painters = []
    for index, column in enumerate(columns):
        definition = model.fields[column.name]
        is_title = column.name == title_field
        editable = column.editor is not None and not is_title
        classes = "num text-end" if column.align_end else ""
        if is_title:
            classes += " crm-title-cell"
        elif index >= 3:
            classes += " crm-extra"
        if editable:
            classes += " crm-editable"
        head = f'<td data-label="{escape(column.label)}" class="{escape(classes)}"'
        options = ""
        if editable and column.editor is not None:
            head += f' data-field="{escape(column.name)}" data-kind="{escape(column.editor.kind)}"'
            if column.editor.options:
                dumped = htmlsafe_json_dumps(
                    column.editor.options,
                    dumps=policies["json.dumps_function"],
                    **policies["json.dumps_kwargs"],
                )
                options = f" data-options='{dumped}'"
        rule = restricted.get(column.name)
        painters.append(
            _Painter(
                column.name,
                definition,
                rule is not None and str(rule.level) == "masked",
                head,
                editable,
                editable and column.editor is not None and column.editor.kind == "datetime-local",
                options,
                is_title,
            )
        )
    return painters


def list_rows(
    model: EntityModel,
    columns: list[Column],
    records: list[dict[str, Any]],
    restricted: Mapping[str, Any],
    presentations: PresentationRegistry,
    ctx: DisplayContext,
) -> list[Row]:
    """Return the table's rows: each record's cells presented as the reader may see them."""
    painters = _painters(model, columns, restricted)
    href_of = record_href(model.name)
    pooled_entity = bool(model.entity.doc.get("pool"))
    # A column's cell depends only on its value (and link title): a state, an owner or a flag repeated
    # down the page is presented once.
    drawn: list[dict[Any, str]] = [{} for _ in painters]
    rows = []
    for record in records:
        record_id = record["id"]
        href = href_of(record_id)
        titles = record.get("_titles") or {}
        parts = []
        for p, seen in zip(painters, drawn, strict=True):
            value = record.get(p.name)
            title = str(titles.get(p.name, ""))
            key: tuple[Any, ...] | None = (type(value), value, title)
            try:
                cell = seen.get(key)
            except TypeError:  # a list value (several options): drawn each time
                key, cell = None, None
            if cell is None:
                cell = _cell(p, value, title, presentations, ctx)
                if key is not None:
                    seen[key] = cell
            if p.title:  # the title text links to its record; "#id" when there is none to show
                link = f'<a href="{escape(href)}" class="crm-title-link">{cell or f"#{record_id}"}</a>'
                cell = f"{p.head}>{link}</td>"
            parts.append(cell)
        rows.append(
            Row(
                record_id,
                record.get("record_no"),
                record.get("lock_version"),
                href,
                pooled_entity and record.get("owner_id") is None,
                Markup("".join(parts)),
            )
        )
    return rows


def _cell(
    p: _Painter, value: Any, title: str, presentations: PresentationRegistry, ctx: DisplayContext
) -> str:
    """Return a column's whole ``<td>`` for a value; for the title column only its text, escaped."""
    html = presentations.present(Shown(p.shown_field, value, title=title, masked=p.masked), ctx, True)
    if p.title:
        return str(escape(Markup(html).striptags()))
    cell = p.head
    if p.editable:
        raw = datetime_input(value) if p.moment else ("" if value is None else value)
        cell += f' data-value="{escape(raw)}"{p.options}'
    return f"{cell}>{html}</td>"
