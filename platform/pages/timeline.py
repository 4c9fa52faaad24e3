"""The record's activity timeline: follow-up notes, field changes, transitions and her notifications, newest first.

Field changes come from the audit log and are shown as the reader must see them: fields hidden from her
are left out, masked ones masked (the record view of the runtime decides, as for the record itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Connection, select

from crm_platform.i18n import current_locale, t
from crm_platform.pages.helpers import display_context
from crm_platform.pages.recordaccess import user_names
from crm_platform.services import services
from form_renderer.presentation import Shown
from metamodel.access.fieldsecurity import FieldSecurity
from metamodel.definitions import FieldDef
from metamodel.followups import followups_of
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor
from metamodel.systables import audit_log
from rule_engine.tables import inbox
from rule_engine.workflow.history import history_of

LIMIT = 60
_ICONS = {"call": "phone", "visit": "walk", "message": "message", "note": "notes"}


def timeline(model: EntityModel, record: Mapping[str, Any], state_field: str | None) -> list[dict[str, Any]]:
    """Return the record's timeline entries, newest first (at most ``LIMIT``)."""
    runtime = services().runtime()
    record_id = int(record["id"])
    with runtime.engine.connect() as conn:
        reader = runtime.resolve(current_user.actor(), conn)
        entries = _notes(conn, model.name, record_id)
        entries += _changes(conn, model, record_id, reader, state_field)
        entries += _transitions(conn, model, record_id, state_field)
        entries += _notifications(conn, model.name, record_id, current_user.id)
    names = user_names({e["actor_id"] for e in entries if e.get("actor_id") is not None})
    for entry in entries:
        actor_id = entry.get("actor_id")
        entry["by"] = names.get(actor_id, "") if actor_id is not None else t("workflow.system")
    entries.sort(key=lambda e: (e["at"], e["order"]), reverse=True)
    return entries[:LIMIT]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _notes(conn: Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "followup",
            "icon": _ICONS.get(note.kind, "notes"),
            "at": _aware(note.at),
            "order": note.id,
            "actor_id": note.author_id,
            "heading": t(f"followup.kind.{note.kind}"),
            "body": note.body,
            "next_date": note.next_date,
        }
        for note in followups_of(conn, entity, record_id, LIMIT)
    ]


def _changes(
    conn: Connection, model: EntityModel, record_id: int, reader: Actor, state_field: str | None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit_log)
        .where(audit_log.c.entity == model.name, audit_log.c.record_id == record_id)
        .where(audit_log.c.action.startswith("record.", autoescape=True))
        .order_by(audit_log.c.id.desc())
        .limit(LIMIT)
    )
    security = FieldSecurity()
    entries = []
    for row in rows:
        action = str(row.action).removeprefix("record.")
        changes = row.changes if isinstance(row.changes, dict) else {}
        lines = [] if action == "create" else _lines(model, changes, reader, security, state_field)
        if action == "update" and not lines:
            continue  # nothing she may see changed (or only the state, shown as a transition)
        entries.append(
            {
                "kind": "change",
                "icon": "plus" if action == "create" else "pencil",
                "at": _aware(row.at),
                "order": row.id,
                "actor_id": row.actor_id,
                "heading": t(f"timeline.{action}") if action in _ACTIONS else t("timeline.update"),
                "changes": lines,
            }
        )
    return entries


_ACTIONS = ("create", "update", "delete", "claim", "release", "pool_return")


def _lines(
    model: EntityModel,
    changes: Mapping[str, Any],
    reader: Actor,
    security: FieldSecurity,
    state_field: str | None,
) -> list[dict[str, str]]:
    names = [n for n in changes if n in model.fields and n != state_field]
    pairs = {n: changes[n] for n in names if isinstance(changes[n], list) and len(changes[n]) == 2}
    # The runtime's record view hides and masks the values exactly as on the record itself.
    before = security.view(model, reader, {n: v[0] for n, v in pairs.items()})
    after = security.view(model, reader, {n: v[1] for n, v in pairs.items()})
    locale = current_locale()
    lines = []
    for name in pairs:
        if name not in after:
            continue
        definition = model.fields[name]
        lines.append(
            {
                "label": definition.label(locale),
                "before": _text(model, name, before.get(name)),
                "after": _text(model, name, after.get(name)),
            }
        )
    return lines


def _text(model: EntityModel, name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    definition = model.fields[name]
    title = ""
    if definition.type == "link" and isinstance(value, int):
        target = str(definition.get("target"))
        title = services().runtime().titles(target, [value], actor=current_user.actor()).get(value, "")
    shown = Shown(definition, value, title=title)
    return services().presentations.of(definition.type).text(shown, display_context())


def _transitions(
    conn: Connection, model: EntityModel, record_id: int, state_field: str | None
) -> list[dict[str, Any]]:
    if state_field is None:
        return []
    state = model.fields[state_field]
    return [
        {
            "kind": "transition",
            "icon": "arrow-right",
            "at": _aware(dt.datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00"))),
            "order": int(row["id"]),
            "actor_id": row["actor_id"],
            "heading": t("timeline.transition"),
            "from_state": _badge(state, row["from_state"]) if row["from_state"] else "",
            "to_state": _badge(state, row["to_state"]),
            "body": row["comment"] or "",
        }
        for row in history_of(conn, model.name, record_id)
    ]


def _badge(definition: FieldDef, value: Any) -> Markup:
    # States read as their option's label in its colour, as everywhere else.
    return services().presentations.present(Shown(definition, str(value)), display_context())


def _notifications(conn: Connection, entity: str, record_id: int, user_id: int) -> list[dict[str, Any]]:
    # Only her own notifications: what the rules told others is theirs to read.
    rows = conn.execute(
        select(inbox)
        .where(inbox.c.entity == entity, inbox.c.record_id == record_id, inbox.c.user_id == user_id)
        .order_by(inbox.c.id.desc())
        .limit(LIMIT)
    )
    return [
        {
            "kind": "notification",
            "icon": "bell",
            "at": _aware(row.created_at),
            "order": row.id,
            "actor_id": None,
            "heading": row.subject,
            "body": row.body,
        }
        for row in rows
    ]
