"""Which records a link may point at (ones that exist and that the acting user may read), and which files
an attachment field may hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, select
from sqlalchemy.sql.elements import ColumnElement

from metamodel.model import EntityModel
from metamodel.records.batch import batch_cache
from metamodel.records.hooks import Actor
from metamodel.systables import attachments


def link_allowed(
    conn: Connection,
    exists: Select[Any],
    value: Any,
    scope: Sequence[ColumnElement[bool]],
    holder: EntityModel,
    field_name: str,
    record_id: int | None,
) -> bool:
    """Whether a link of ``holder.field_name`` may point at ``value``.

    ``exists`` selects the target by ``_record_id``; ``scope`` is the actor's read condition on the
    target (empty for the system and administrators). A record the actor cannot read is refused like
    one that does not exist, so the answer tells nothing about hidden records; a link the record
    already stores stays allowed, so editing other fields never fails on a link someone else set.
    """
    statement = exists.where(*scope) if scope else exists
    # A batch of imported records asks once per target (read-only: the batch's rollback drops it).
    cache = batch_cache(conn)
    seen = cache.setdefault("link_targets", set()) if cache is not None else None
    key = (holder.name, field_name, value)
    if seen is not None and key in seen:
        return True
    if conn.execute(statement, {"_record_id": value}).first() is not None:
        if seen is not None:
            seen.add(key)
        return True
    if not scope or record_id is None:
        return False
    table = holder.table
    stored = conn.execute(select(table.c[field_name]).where(table.c.id == record_id)).scalar()
    return bool(stored == value)


def prime_link_targets(
    conn: Connection,
    target: Table,
    values: Iterable[Any],
    scope: Sequence[ColumnElement[bool]],
    holder: EntityModel,
    field_name: str,
) -> None:
    """Ask once which of ``values`` a batch's links of ``holder.field_name`` may point at (outside a batch: nothing).

    The same question ``link_allowed`` asks per value, for a whole batch in one statement; the
    answers it finds go to the batch's cache, so ``link_allowed`` still decides every link and asks
    the database again about any value this did not find.
    """
    cache = batch_cache(conn)
    if cache is None:
        return
    seen = cache.setdefault("link_targets", set())
    wanted = sorted({v for v in values if isinstance(v, int) and (holder.name, field_name, v) not in seen})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        statement = select(target.c.id).where(target.c.id.in_(chunk), *scope)
        seen.update((holder.name, field_name, int(found)) for found in conn.execute(statement).scalars())


def attachment_allowed(
    conn: Connection, value: Any, actor: Actor, holder: EntityModel, field_name: str, record_id: int | None
) -> bool:
    """Whether an attachment field may hold file ``value``: one the actor uploaded (any file for the system
    and administrators), or the one the record already holds. Another user's file id would otherwise
    let a record of hers carry it, and her read of that record would hand her the file."""
    uploader = conn.execute(select(attachments.c.created_by).where(attachments.c.id == value)).first()
    if uploader is None:
        return False
    if actor.user_id is None or actor.is_admin or uploader.created_by == actor.user_id:
        return True
    if record_id is None:
        return False
    table = holder.table
    stored = conn.execute(select(table.c[field_name]).where(table.c.id == record_id)).scalar()
    return bool(stored == value)
