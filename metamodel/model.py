"""The compiled form of a published metadata version: entities with their tables and field types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, Table

from metamodel.crypto.sealing import NO_SEALING, FieldSeal, SealedType, Sealing
from metamodel.definitions import Bundle, EntityDef, FieldDef
from metamodel.errors import NotFound
from metamodel.fieldtypes.base import FieldType, FieldTypeRegistry
from metamodel.tables import build_table


@dataclass
class EntityModel:
    """One entity ready for the record runtime."""

    entity: EntityDef
    table: Table
    types: dict[str, FieldType]
    fields: dict[str, FieldDef] = field(default_factory=dict)
    # Fields stored encrypted, by name (empty when encryption is off).
    seals: dict[str, FieldSeal] = field(default_factory=dict)
    # Derived once per compiled version (the model is read-only): field lists, serialisers.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        """Entity name."""
        return self.entity.name

    def column_fields(self) -> list[FieldDef]:
        """Fields that have a column, in definition order."""
        found: list[FieldDef] | None = self.derived.get("column_fields")
        if found is None:
            found = [f for f in self.entity.fields if self.types[f.name].has_column]
            self.derived["column_fields"] = found
        return found

    def child_fields(self) -> list[FieldDef]:
        """Child-table fields, in definition order."""
        found: list[FieldDef] | None = self.derived.get("child_fields")
        if found is None:
            found = [f for f in self.entity.fields if f.type == "child_table"]
            self.derived["child_fields"] = found
        return found

    def field(self, name: str) -> FieldDef:
        """Return a field by name; NotFound when there is none."""
        found = self.fields.get(name)
        if found is None:
            raise NotFound(f"entity '{self.name}' has no field '{name}'")
        return found


class SiteModel:
    """All entities of one published version, compiled once and shared read-only."""

    def __init__(
        self, version: int, bundle: Bundle, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING
    ) -> None:
        self.version = version
        self.bundle = bundle
        self.registry = registry
        self.sealing = sealing
        # The site's time zone (a site setting, refreshed by MetadataService.model()): today(), date
        # anchors, cron rules and date buckets count days in it.  Datetimes stay stored in UTC.
        self.time_zone = ZoneInfo("UTC")
        self.metadata = MetaData()
        self.entities: dict[str, EntityModel] = {}
        for entity in bundle.entities():
            table = build_table(entity, registry, self.metadata, sealing)
            types = {f.name: registry.of(f) for f in entity.fields}
            seals = {c.key: c.type.seal for c in table.columns if isinstance(c.type, SealedType)}
            self.entities[entity.name] = EntityModel(
                entity, table, types, {f.name: f for f in entity.fields}, seals
            )

    def local(self, moment: dt.datetime) -> dt.datetime:
        """Return ``moment`` in the site's time zone (so ``.date()`` is the site's calendar day)."""
        return moment.astimezone(self.time_zone)

    def entity(self, name: str) -> EntityModel:
        """Return an entity by name; NotFound when it is not published."""
        found = self.entities.get(name)
        if found is None:
            raise NotFound(f"entity '{name}' does not exist")
        return found

    def parent_of(self, child_entity: str) -> tuple[EntityModel, FieldDef] | None:
        """Return the entity and child-table field that own lines of ``child_entity``."""
        for model in self.entities.values():
            for child_field in model.child_fields():
                if child_field.get("child_entity") == child_entity:
                    return model, child_field
        return None
