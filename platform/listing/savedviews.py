"""Saved list views: a user's named filters, sort and columns; personal, or shared to roles by an admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from metamodel.errors import BadQuery, Problem
from metamodel.systables import roles, saved_views, user_roles

MAX_NAME = 80
MAX_ARGS = 40
# Query-string keys a view never keeps: paging state, the language, the view and columns themselves.
TRANSIENT_KEYS = frozenset({"cursor", "page", "offset", "count", "lang", "view", "cols", "_ffield"})


@dataclass(frozen=True)
class SavedView:
    """One saved view of an entity's list."""

    id: int
    entity: str
    owner_id: int
    name: str
    query: dict[str, list[str]]
    columns: list[str]
    shared_roles: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Return the view as JSON-ready data."""
        return {
            "id": self.id,
            "entity": self.entity,
            "owner_id": self.owner_id,
            "name": self.name,
            "query": self.query,
            "columns": self.columns,
            "shared_roles": self.shared_roles,
        }


def clean_query(args: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keep the arguments a view should remember (filters, search, sort), bounded in size."""
    kept = {
        str(k)[:120]: [str(v)[:500] for v in values][:20]
        for k, values in args.items()
        if k not in TRANSIENT_KEYS and values
    }
    return dict(list(kept.items())[:MAX_ARGS])


def _row(row: Any) -> SavedView:
    return SavedView(
        int(row.id),
        str(row.entity),
        int(row.owner_id),
        str(row.name),
        {str(k): [str(v) for v in vs] for k, vs in dict(row.query or {}).items()},
        [str(c) for c in row.columns or []],
        [str(r) for r in row.shared_roles or []],
    )


def _user_roles(engine: Engine, user_id: int) -> set[str]:
    with engine.connect() as conn:
        return {
            str(r)
            for r in conn.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id)).scalars()
        }


def views_for(engine: Engine, user_id: int, entity: str) -> list[SavedView]:
    """Return the views of ``entity`` the user sees: her own, then those shared to one of her roles."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(saved_views)
            .where(saved_views.c.entity == entity)
            .order_by(saved_views.c.name, saved_views.c.id)
        ).all()
    views = [_row(r) for r in rows]
    own = [v for v in views if v.owner_id == user_id]
    others = [v for v in views if v.owner_id != user_id and v.shared_roles]
    if not others:
        return own  # her roles matter only when someone shared a view (most lists: one query, not two)
    mine = _user_roles(engine, user_id)
    return own + [v for v in others if mine.intersection(v.shared_roles)]


def visible_view(engine: Engine, user_id: int, entity: str, view_id: int) -> SavedView | None:
    """Return one view of ``entity`` if the user sees it, else None."""
    return next((v for v in views_for(engine, user_id, entity) if v.id == view_id), None)


def save_view(
    engine: Engine,
    user_id: int,
    is_admin: bool,
    entity: str,
    name: str,
    query: dict[str, list[str]],
    columns: list[str],
    shared_roles: list[str] | None = None,
) -> SavedView:
    """Store (or replace, by name) one of the user's views; only an administrator may share to roles."""
    name = name.strip()[:MAX_NAME]
    shared = sorted({str(r) for r in shared_roles or []})
    problems = []
    if not name:
        problems.append(Problem("name", "a view needs a name", "required"))
    if shared and not is_admin:
        problems.append(
            Problem("shared_roles", "only an administrator may share a view to roles", "forbidden")
        )
    with engine.connect() as conn:
        known = (
            set(conn.execute(select(roles.c.name).where(roles.c.name.in_(shared))).scalars())
            if shared
            else set()
        )
    if set(shared) - known:
        problems.append(
            Problem("shared_roles", f"unknown role(s): {', '.join(sorted(set(shared) - known))}", "unknown")
        )
    if problems:
        raise BadQuery("the view is not valid", problems)
    values = {
        "query": clean_query(query),
        "columns": [str(c)[:80] for c in columns][:60],
        "shared_roles": shared,
        "updated_at": dt.datetime.now(dt.UTC),
    }
    key = (
        (saved_views.c.owner_id == user_id) & (saved_views.c.entity == entity) & (saved_views.c.name == name)
    )
    with engine.begin() as conn:
        found = conn.execute(select(saved_views.c.id).where(key)).scalar()
        if found is not None:
            conn.execute(update(saved_views).where(saved_views.c.id == found).values(**values))
        else:
            found = conn.execute(
                insert(saved_views).values(entity=entity, owner_id=user_id, name=name, **values)
            ).inserted_primary_key[0]  # type: ignore[index]
        row = conn.execute(select(saved_views).where(saved_views.c.id == found)).one()
    return _row(row)


def delete_view(engine: Engine, user_id: int, is_admin: bool, entity: str, view_id: int) -> bool:
    """Remove a view: her own, or any shared one when she is an administrator; False if none such."""
    with engine.begin() as conn:
        row = conn.execute(
            select(saved_views).where(saved_views.c.id == view_id, saved_views.c.entity == entity)
        ).first()
        if row is None or not (row.owner_id == user_id or (is_admin and row.shared_roles)):
            return False
        conn.execute(delete(saved_views).where(saved_views.c.id == view_id))
    return True
