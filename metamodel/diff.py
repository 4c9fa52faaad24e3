"""Differences between two metadata bundles, field by field for entities."""

from __future__ import annotations

from typing import Any

from metamodel.definitions import Bundle


def diff_bundles(before: Bundle, after: Bundle) -> list[dict[str, Any]]:
    """Return a list of changes ``{kind, name, change, path, before, after}`` from ``before`` to ``after``."""
    changes: list[dict[str, Any]] = []
    for kind in after.documents.keys() | before.documents.keys():
        old_docs, new_docs = before.documents.get(kind, {}), after.documents.get(kind, {})
        for name in sorted(old_docs.keys() - new_docs.keys()):
            changes.append(_change(kind, name, "removed", name, old_docs[name], None))
        for name in sorted(new_docs.keys() - old_docs.keys()):
            changes.append(_change(kind, name, "added", name, None, new_docs[name]))
        for name in sorted(old_docs.keys() & new_docs.keys()):
            if kind == "entity":
                changes += _entity_changes(name, old_docs[name], new_docs[name])
            elif old_docs[name] != new_docs[name]:
                changes += _key_changes(kind, name, name, old_docs[name], new_docs[name])
    return sorted(changes, key=lambda c: (c["kind"], c["name"], c["path"]))


def _change(kind: str, name: str, change: str, path: str, before: Any, after: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "change": change, "path": path, "before": before, "after": after}


def _key_changes(
    kind: str, name: str, path: str, old: dict[str, Any], new: dict[str, Any]
) -> list[dict[str, Any]]:
    return [
        _change(kind, name, "changed", f"{path}.{key}", old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def _entity_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    changes = _key_changes(
        "entity",
        name,
        name,
        {k: v for k, v in old.items() if k != "fields"},
        {k: v for k, v in new.items() if k != "fields"},
    )
    old_fields = {f.get("id", f["name"]): f for f in old.get("fields", [])}
    new_fields = {f.get("id", f["name"]): f for f in new.get("fields", [])}
    for fid in old_fields.keys() - new_fields.keys():
        changes.append(
            _change(
                "entity", name, "field_removed", f"{name}.{old_fields[fid]['name']}", old_fields[fid], None
            )
        )
    for fid in new_fields.keys() - old_fields.keys():
        changes.append(
            _change("entity", name, "field_added", f"{name}.{new_fields[fid]['name']}", None, new_fields[fid])
        )
    for fid in old_fields.keys() & new_fields.keys():
        before, after = old_fields[fid], new_fields[fid]
        if before.get("name") != after.get("name"):
            changes.append(
                _change(
                    "entity", name, "field_renamed", f"{name}.{before['name']}", before["name"], after["name"]
                )
            )
        for change in _key_changes("entity", name, f"{name}.{after['name']}", before, after):
            if not change["path"].endswith(".name"):
                change["change"] = "field_changed"
                changes.append(change)
    return changes
