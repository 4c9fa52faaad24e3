"""Saving a built report: personal (at once, for her only) or shared with roles (a metadata document).

A shared report is a metadata document like a pack's: it lands in the draft and is published with the
next publish. When the draft holds nothing else, it is published at once, so a manager who shares a
report sees it shared; otherwise it waits in the draft and the studio's publish takes it with the rest
(publishing someone else's unfinished changes behind their back would be worse).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm_platform.reporting.personal import personal_docs, save_personal
from crm_platform.services import CrmServices
from metamodel.systables import roles


def role_choices(svc: CrmServices, locale: str) -> list[tuple[str, str]]:
    """Return the site's roles as (name, label in ``locale``)."""
    with svc.engine.connect() as conn:
        rows = conn.execute(select(roles.c.name, roles.c.label).order_by(roles.c.name)).all()
    out = []
    for name, label in rows:
        text = label.get(locale) or label.get("en") if isinstance(label, dict) else None
        out.append((str(name), str(text or name)))
    return out


def name_taken(svc: CrmServices, user_id: int, name: str, shared: bool) -> bool:
    """Whether ``name`` already names a report the user did not mean to replace (the other kind)."""
    if shared:
        return name in personal_docs(svc.engine, user_id)
    return name in svc.metadata.model().bundle.docs("report") or name in svc.metadata.draft().docs("report")


def save_shared(svc: CrmServices, doc: dict[str, Any], user: str, kind: str = "report") -> bool:
    """Put a shared report (or dashboard) in the draft; publish it at once when nothing else waits.
    True when published."""
    active = svc.metadata.model().bundle
    draft = svc.metadata.draft()
    name = str(doc["name"])
    others_pending = _without(draft.documents, kind, name) != _without(active.documents, kind, name)
    svc.metadata.put_document(kind, name, {k: v for k, v in doc.items() if k != "personal"}, user)
    if others_pending:
        return False
    svc.metadata.publish(user, f"{kind} {name} saved from its page")
    return True


def save_mine(svc: CrmServices, user_id: int, doc: dict[str, Any]) -> None:
    """Store a personal report (no roles: only she sees it)."""
    save_personal(svc.engine, user_id, {k: v for k, v in doc.items() if k != "roles"})


def _without(documents: dict[str, dict[str, Any]], kind: str, name: str) -> dict[str, dict[str, Any]]:
    out = {k: dict(docs) for k, docs in documents.items() if docs}
    out.get(kind, {}).pop(name, None)
    return {k: docs for k, docs in out.items() if docs}
