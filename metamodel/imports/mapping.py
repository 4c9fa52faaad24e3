"""Which file column fills which field: the targets an entity offers and the automatic match by name or label."""

from __future__ import annotations

import re
from dataclasses import dataclass

from metamodel.definitions import FieldDef
from metamodel.model import EntityModel, SiteModel

_SKIPPED_TYPES = {"attachment", "child_table"}  # no cell can carry a file; lines are mapped per column


@dataclass(frozen=True)
class Target:
    """A field a column can fill: ``name`` (``lines.product`` for a child line's field) and its labels."""

    name: str
    field: FieldDef
    labels: dict[str, str]
    child: str | None = None  # the child-table field of a line target

    @property
    def field_name(self) -> str:
        """The field's own name (the part after the dot for a line target)."""
        return self.field.name


def targets(site: SiteModel, model: EntityModel) -> list[Target]:
    """Return every field of the entity (and of its child lines) a column may be mapped to."""
    found = [
        Target(f.name, f, _labels(f))
        for f in model.entity.fields
        if f.type not in _SKIPPED_TYPES and not f.get("computed") and not f.get("formula")
    ]
    for child_field in model.child_fields():
        child = site.entity(str(child_field.get("child_entity")))
        prefix = _labels(child_field)
        for f in child.entity.fields:
            if f.type in _SKIPPED_TYPES:
                continue
            labels = {
                lang: f"{prefix.get(lang, child_field.name)}: {text}" for lang, text in _labels(f).items()
            }
            found.append(Target(f"{child_field.name}.{f.name}", f, labels, child_field.name))
    return found


def auto_map(headers: list[str], available: list[Target]) -> dict[str, str | None]:
    """Match each header to a target by name or by its label in any language; unmatched headers map to None."""
    index: dict[str, str] = {}
    for target in available:
        for key in (target.name, *target.labels.values()):
            index.setdefault(_key(key), target.name)
        if target.child is None:
            index.setdefault(_key(target.field.name), target.name)
    mapping: dict[str, str | None] = {}
    used: set[str] = set()
    for header in headers:
        name = index.get(_key(header))
        mapping[header] = name if name is not None and name not in used else None
        if name is not None:
            used.add(name)
    return mapping


def _labels(f: FieldDef) -> dict[str, str]:
    label = f.get("label")
    if isinstance(label, dict):
        return {str(k): str(v) for k, v in label.items() if v}
    if isinstance(label, str) and label:
        return {"en": label}
    return {"en": f.name.replace("_", " ").capitalize()}


def _key(text: str) -> str:
    # Case, spaces, underscores, punctuation and a trailing "*" (required marks) do not matter.
    return re.sub(r"[\s_\-:：.*()（）]+", "", text.strip().casefold())
