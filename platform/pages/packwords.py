"""The packs page in words: upgrade conflicts as "Member › Phone › Label" with readable values, and the
pack services' refusals in the reader's language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from crm_platform.i18n import current_locale, t
from crm_platform.pages.studioadmin import error_view
from crm_platform.services import services
from industry_templates.merge import MergeConflict
from metamodel.errors import CrmError

_LABELLED = frozenset({"en", "zh-CN"})


def _translated(key: str, **values: Any) -> str | None:
    said = t(key, **values)
    return None if said == key else said


def plain(value: Any) -> str:
    """Say a metadata value as an admin reads it: labels in her language, lists joined, never raw JSON."""
    if value is None:
        return t("packs.absent")
    if isinstance(value, bool):
        return t("packs.yes") if value else t("packs.no")
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and value and set(value) <= _LABELLED:
        return str(value.get(current_locale()) or value.get("en") or next(iter(value.values())))
    if isinstance(value, dict) and ("label" in value or "name" in value or "value" in value):
        return plain(value.get("label") or value.get("name") or value.get("value"))
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value) or t("packs.absent")
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "…"


def readable_path(path: str) -> str:
    """Say where a conflict is: the entity and field by their labels, then the setting."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p]
    model = services().metadata.model()
    words: list[str] = []
    entity = None
    for index, part in enumerate(parts):
        before = parts[index - 1] if index else ""
        if before == "entity" and part in model.entities:
            entity = model.entities[part].entity
            words.append(_label(entity.doc, part))
        elif before == "fields" and entity is not None and entity.field(part) is not None:
            words.append(_label(entity.field(part).doc, part))  # type: ignore[union-attr]
        elif part in ("entity", "fields") and index + 1 < len(parts):
            continue
        else:
            words.append(_translated(f"packs.setting.{part}") or part)
    return " › ".join(words)


def _label(doc: dict[str, Any], fallback: str) -> str:
    labels = doc.get("label") or {}
    return str(labels.get(current_locale()) or labels.get("en") or fallback)


def conflict_rows(conflicts: Iterable[MergeConflict]) -> list[dict[str, str]]:
    """Return each conflict as where, the site's value (kept) and the pack's value, in words."""
    rows = []
    for conflict in conflicts:
        found = conflict.as_dict()
        rows.append(
            {"path": readable_path(found["path"]), "site": plain(found["site"]), "pack": plain(found["pack"])}
        )
    return rows


def pack_error(exc: CrmError) -> dict[str, Any]:
    """Return what the packs page shows for a refused install, upgrade, uninstall or export."""
    needed_by = exc.extra.get("needed_by")
    if needed_by:
        return {"message": t("packs.err.needed_by", names=", ".join(needed_by)), "problems": []}
    headline = _translated(f"packs.err.{exc.code}")
    if headline is None:
        return error_view(exc)
    shown = error_view(exc)
    # Without problems of its own the service's sentence is the only detail: keep it under the headline.
    detail = [] if exc.code == "not_found" else [("", exc.message)]
    return {"message": headline, "problems": shown["problems"] or detail}
