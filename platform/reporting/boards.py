"""Personal dashboards and editing dashboards: a user's own grid of widgets, and the widget list changes
(add, remove, reorder, resize) that apply to hers at once or to a shared one through the metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from metamodel.systables import personal_dashboards

MY_BOARD = "my_dashboard"
MAX_WIDGETS = 24  # as the dashboard document allows
WIDTHS = (3, 4, 6, 12)


def my_board_doc() -> dict[str, Any]:
    """Return a user's personal dashboard before she added anything."""
    return {
        "name": MY_BOARD,
        "label": {"en": "My dashboard", "zh-CN": "我的驾驶舱"},
        "widgets": [],
        "personal": True,
    }


def personal_boards(engine: Engine, user_id: int) -> dict[str, dict[str, Any]]:
    """Return the user's own dashboards by name."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(personal_dashboards.c.name, personal_dashboards.c.body).where(
                personal_dashboards.c.user_id == user_id
            )
        ).all()
    return {str(row.name): {**dict(row.body), "personal": True} for row in rows}


def save_board(engine: Engine, user_id: int, doc: dict[str, Any]) -> None:
    """Store (or replace) one of the user's own dashboards."""
    now = dt.datetime.now(dt.UTC)
    body = {k: v for k, v in doc.items() if k not in ("personal", "roles", "home")}
    key = (personal_dashboards.c.user_id == user_id) & (personal_dashboards.c.name == doc["name"])
    with engine.begin() as conn:
        if (
            conn.execute(update(personal_dashboards).where(key).values(body=body, updated_at=now)).rowcount
            == 0
        ):
            conn.execute(
                insert(personal_dashboards).values(
                    user_id=user_id, name=doc["name"], body=body, updated_at=now
                )
            )


def with_widget(doc: dict[str, Any], widget: dict[str, Any]) -> dict[str, Any] | None:
    """Return the dashboard with ``widget`` added at the end (None when it is full)."""
    widgets = list(doc.get("widgets") or [])
    if len(widgets) >= MAX_WIDGETS:
        return None
    return {**doc, "widgets": [*widgets, widget]}


def rearranged(
    doc: dict[str, Any], order: Sequence[str], widths: dict[str, str], removed: set[str]
) -> dict[str, Any]:
    """Return the dashboard with its widgets in ``order`` (their old indexes) less the ``removed`` ones,
    each at its chosen width (one of WIDTHS; others keep theirs)."""
    widgets = list(doc.get("widgets") or [])
    kept: list[dict[str, Any]] = []
    seen: set[int] = set()
    for raw in order:
        if not raw.isdigit() or int(raw) >= len(widgets) or int(raw) in seen or raw in removed:
            continue  # a stale or doubled index from an old page: skip it rather than fail
        seen.add(int(raw))
        widget = dict(widgets[int(raw)])
        width = widths.get(raw, "")
        if width.isdigit() and int(width) in WIDTHS:
            widget["width"] = int(width)
        kept.append(widget)
    return {**doc, "widgets": kept}
