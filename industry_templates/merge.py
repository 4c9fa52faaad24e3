"""Three-way merge of JSON documents: base (the pack as installed), ours (the site now), theirs (new pack).

Where only one side changed a spot, that change wins; where both changed the same spot differently,
the site's value is kept and a conflict is reported with its path. Lists of named items (fields,
options, states, permissions, validation rules) are merged item by item, keyed by name, value,
entity/operation or condition.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


class _Missing:
    """The one marker of an absent value (copies are the marker itself)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self


MISSING: Any = _Missing()


@dataclass(frozen=True)
class MergeConflict:
    """One spot changed by both the site and the new pack version; the site's value was kept."""

    path: str
    base: Any
    ours: Any
    theirs: Any

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI and the API (absent values are null)."""

        def plain(value: Any) -> Any:
            return None if value is MISSING else value

        return {
            "path": self.path,
            "base": plain(self.base),
            "site": plain(self.ours),
            "pack": plain(self.theirs),
        }


@dataclass
class MergeResult:
    """The merged value, the pack changes applied and the conflicts found."""

    value: Any
    applied: list[str] = field(default_factory=list)
    conflicts: list[MergeConflict] = field(default_factory=list)


def item_key(item: Any) -> str | None:
    """Return the key a list item is matched by across versions, or None for an unkeyed item."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("entity"), str) and isinstance(item.get("operation"), str):
        return f"{item['entity']}:{item['operation']}"
    # A validation rule is known by its condition, so rules added on either side are all kept.
    for key in ("name", "value", "to", "condition"):
        if isinstance(item.get(key), str | int) and not isinstance(item.get(key), bool):
            return str(item[key])
    return None


def _keyed(items: Any) -> dict[str, Any] | None:
    """Return {key: item} when every item of a list has a distinct key, else None."""
    if not isinstance(items, list):
        return None
    found: dict[str, Any] = {}
    for item in items:
        key = item_key(item)
        if key is None or key in found:
            return None
        found[key] = item
    return found


def merge3(base: Any, ours: Any, theirs: Any, path: str = "") -> MergeResult:
    """Merge ``theirs`` into ``ours`` relative to ``base``; MISSING stands for an absent value."""
    result = MergeResult(MISSING)
    result.value = _merge(base, ours, theirs, path, result)
    return result


def _merge(base: Any, ours: Any, theirs: Any, path: str, out: MergeResult) -> Any:
    if ours == theirs:
        return copy.deepcopy(ours)
    if base == ours:
        out.applied.append(path)
        return copy.deepcopy(theirs)
    if base == theirs:
        return copy.deepcopy(ours)
    if isinstance(ours, dict) and isinstance(theirs, dict) and isinstance(base, dict | _Missing):
        return _merge_dicts(base if isinstance(base, dict) else {}, ours, theirs, path, out)
    keyed = [_keyed(v) for v in (base if base is not MISSING else [], ours, theirs)]
    if all(k is not None for k in keyed):
        return _merge_lists(keyed[0] or {}, ours, theirs, path, out)
    out.conflicts.append(MergeConflict(path, base, ours, theirs))
    return copy.deepcopy(ours)


def _merge_dicts(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], path: str, out: MergeResult
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        value = _merge(
            base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING), f"{path}.{key}", out
        )
        if value is not MISSING:
            merged[key] = value
    return merged


def _merge_lists(
    base: dict[str, Any], ours: list[Any], theirs: list[Any], path: str, out: MergeResult
) -> list[Any]:
    ours_k, theirs_k = _keyed(ours) or {}, _keyed(theirs) or {}
    merged: dict[str, Any] = {}
    for key in ours_k.keys() | theirs_k.keys():
        value = _merge(
            base.get(key, MISSING),
            ours_k.get(key, MISSING),
            theirs_k.get(key, MISSING),
            f"{path}[{key}]",
            out,
        )
        if value is not MISSING:
            merged[key] = value
    # The site's order is kept; an item the pack added goes right after its predecessor in the pack.
    order = [k for k in ours_k if k in merged]
    previous: str | None = None
    for key in theirs_k:
        if key in merged and key not in order:
            order.insert(order.index(previous) + 1 if previous in order else len(order), key)
        if key in merged:
            previous = key
    return [merged[k] for k in order]
