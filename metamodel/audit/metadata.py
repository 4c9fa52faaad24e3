"""Logging metadata publishes and rollbacks: who, which version, the comment and what changed."""

from __future__ import annotations

from sqlalchemy import select

from metamodel.audit.log import write_entry
from metamodel.diff import diff_bundles
from metamodel.systables import users
from metamodel.versions import Published

_MAX_CHANGES = 200  # a summary, not a copy: the versions themselves keep the full metadata


def record_publish(event: Published, origin: str | None = None) -> None:
    """Log a publish or rollback in its transaction (an ``on_publish`` listener of MetadataService)."""
    info = event.info
    diff = diff_bundles(event.previous, event.bundle)
    lines = [f"{c['kind']} {c['path']}: {c['change']}" for c in diff[:_MAX_CHANGES]]
    if len(diff) > _MAX_CHANGES:
        lines.append(f"... and {len(diff) - _MAX_CHANGES} more")
    user_id = None
    if info.created_by:
        user_id = event.conn.execute(select(users.c.id).where(users.c.username == info.created_by)).scalar()
    if info.action == "rollback":
        head = f"rolled back to version {info.source_version} as version {info.number}"
    else:
        head = f"published version {info.number}"
    summary = f"{head} ({len(diff)} metadata change(s))" + (f": {info.comment}" if info.comment else "")
    write_entry(
        event.conn,
        "meta.rollback" if info.action == "rollback" else "meta.publish",
        actor_id=user_id,
        actor_name=info.created_by,
        origin=origin,
        at=info.created_at,
        summary=summary,
        changes={
            "version": [event.previous_version, info.number],
            "source_version": info.source_version,
            "comment": info.comment,
            "metadata": lines,
            "schema": list(info.changes),
        },
    )
