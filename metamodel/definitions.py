"""Read-only views over metadata documents (plain JSON dicts) with typed accessors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DOCUMENT_KINDS = ("entity", "form", "workflow", "trigger", "report", "dashboard")


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity, as written in its document."""

    doc: dict[str, Any]

    @property
    def id(self) -> str:
        """Stable identifier that survives renames."""
        return str(self.doc["id"])

    @property
    def name(self) -> str:
        """Field name, also the column name."""
        return str(self.doc["name"])

    @property
    def type(self) -> str:
        """Registered field-type name."""
        return str(self.doc["type"])

    def get(self, key: str, default: Any = None) -> Any:
        """Return a definition key, or ``default``."""
        return self.doc.get(key, default)

    @property
    def required(self) -> bool:
        """Whether a value must be given."""
        return bool(self.doc.get("required", False))

    @property
    def unique(self) -> bool:
        """Whether values must be unique across records."""
        return bool(self.doc.get("unique", False))

    @property
    def indexed(self) -> bool:
        """Whether the column gets an index (unique fields are indexed anyway)."""
        return bool(self.doc.get("indexed", False))

    @property
    def searchable(self) -> bool:
        """Whether free-text search looks at this field."""
        return bool(self.doc.get("searchable", False))

    def label(self, locale: str = "en") -> str:
        """Return the label in ``locale``, falling back to English, then the name."""
        labels = self.doc.get("label") or {}
        return str(labels.get(locale) or labels.get("en") or self.name.replace("_", " ").capitalize())

    def help(self, locale: str = "en") -> str:
        """Return the help text in ``locale`` or an empty string."""
        helps = self.doc.get("help") or {}
        return str(helps.get(locale) or helps.get("en") or "")

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Options of a select or multi-select field."""
        return list(self.doc.get("options") or [])

    def choice_label(self, value: str, locale: str = "en") -> str:
        """Return the label of one option value."""
        for choice in self.choices:
            if choice.get("value") == value:
                labels = choice.get("label") or {}
                return str(labels.get(locale) or labels.get("en") or value)
        return value


@dataclass(frozen=True)
class EntityDef:
    """An entity document with its fields."""

    doc: dict[str, Any]
    fields: tuple[FieldDef, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(FieldDef(f) for f in self.doc.get("fields", [])))

    @property
    def id(self) -> str:
        """Stable identifier that survives renames."""
        return str(self.doc["id"])

    @property
    def name(self) -> str:
        """Entity name, used in URLs and the table name."""
        return str(self.doc["name"])

    @property
    def is_child(self) -> bool:
        """Whether records only exist as lines of a parent's child-table field."""
        return bool(self.doc.get("is_child", False))

    @property
    def title_field(self) -> str | None:
        """Field shown as a record's title."""
        return self.doc.get("title_field")

    @property
    def autonumber(self) -> str | None:
        """Pattern for the record number, e.g. ``WO-{YYYY}-{000000}``."""
        return self.doc.get("autonumber")

    def label(self, locale: str = "en") -> str:
        """Return the label in ``locale``."""
        labels = self.doc.get("label") or {}
        return str(labels.get(locale) or labels.get("en") or self.name.replace("_", " ").capitalize())

    def field(self, name: str) -> FieldDef | None:
        """Return the field called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def field_by_id(self, field_id: str) -> FieldDef | None:
        """Return the field with identifier ``field_id``, or None."""
        for f in self.fields:
            if f.id == field_id:
                return f
        return None


@dataclass
class Bundle:
    """The whole metadata of a site: documents of every kind, keyed by name."""

    documents: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in DOCUMENT_KINDS}
    )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bundle:
        """Build a bundle from its JSON form ``{"entity": {...}, "form": {...}, ...}``."""
        bundle = cls()
        for kind in DOCUMENT_KINDS:
            bundle.documents[kind] = copy.deepcopy(dict(data.get(kind) or {}))
        return bundle

    def to_json(self) -> dict[str, Any]:
        """Return a deep copy in JSON form."""
        return copy.deepcopy(self.documents)

    def entities(self) -> Iterator[EntityDef]:
        """Iterate over entity definitions in name order."""
        for name in sorted(self.documents["entity"]):
            yield EntityDef(self.documents["entity"][name])

    def entity(self, name: str) -> EntityDef | None:
        """Return the entity called ``name``, or None."""
        doc = self.documents["entity"].get(name)
        return EntityDef(doc) if doc is not None else None

    def docs(self, kind: str) -> dict[str, dict[str, Any]]:
        """Return the documents of one kind, keyed by name."""
        return self.documents[kind]
