"""SQLAlchemy tables for record entities, built from entity definitions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text
from sqlalchemy.types import TypeEngine

from metamodel.coltypes import UTCDateTime
from metamodel.crypto.sealing import NO_SEALING, SEALED_SIGNATURE, SealedType, Sealing, hash_column
from metamodel.definitions import EntityDef, FieldDef
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.identifiers import table_name

# System columns that composite indexes and sorting may name besides fields.
INDEXABLE_SYSTEM_COLUMNS = ("id", "record_no", "owner_id", "created_at", "updated_at", "parent_id")


def system_columns(entity: EntityDef) -> list[Column[object]]:
    """Return the columns every record table has (plus parent columns for child entities)."""
    columns: list[Column[object]] = [
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("record_no", Text),
        Column("lock_version", Integer, nullable=False, default=1),
        Column("owner_id", BigInteger),
        Column("created_at", UTCDateTime, nullable=False),
        Column("created_by", BigInteger),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("updated_by", BigInteger),
    ]
    if entity.is_child:
        columns += [Column("parent_id", BigInteger), Column("parent_field", Text), Column("line_no", Integer)]
    return columns


def build_table(
    entity: EntityDef, registry: FieldTypeRegistry, metadata: MetaData, sealing: Sealing = NO_SEALING
) -> Table:
    """Return the table of ``entity`` with its system and field columns, for queries."""
    columns = system_columns(entity)
    for field in entity.fields:
        field_type = registry.of(field)
        if field_type.has_column:
            columns.append(
                Column(field.name, field_column_type(entity, field, registry, sealing), key=field.name)
            )
            if sealing.has_hash(field, field_type):
                columns.append(Column(hash_column(field.name), Text, key=hash_column(field.name)))
    return Table(table_name(entity.name), metadata, *columns)


def field_column_type(
    entity: EntityDef, field: FieldDef, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING
) -> TypeEngine[Any]:
    """Return a field's column type: its field type's, or a sealed TEXT when it is stored encrypted."""
    field_type = registry.of(field)
    seal = sealing.seal(entity, field, field_type)
    return field_type.column_type(field) if seal is None else SealedType(seal)


def field_signature(field: FieldDef, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING) -> str:
    """Return the physical signature of a field's column (sealed columns share one)."""
    field_type = registry.of(field)
    return SEALED_SIGNATURE if sealing.is_sealed(field, field_type) else field_type.column_signature(field)


@dataclass(frozen=True)
class IndexSpec:
    """One index the schema should have; names use ids so renames leave them alone."""

    name: str
    columns: tuple[str, ...]
    unique: bool


def desired_indexes(
    entity: EntityDef, registry: FieldTypeRegistry, sealing: Sealing = NO_SEALING
) -> list[IndexSpec]:
    """Return the indexes of an entity's table: system, per-field and composite ones.

    An encrypted field is indexed through its search-hash column, or not at all (random ciphertexts
    have no useful order or equality).
    """
    eid = entity.id
    specs = [
        IndexSpec(f"ux_{eid}_record_no", ("record_no",), True),
        IndexSpec(f"ix_{eid}_created_at", ("created_at", "id"), False),
        IndexSpec(f"ix_{eid}_updated_at", ("updated_at", "id"), False),
        IndexSpec(f"ix_{eid}_owner_id", ("owner_id", "id"), False),
    ]
    if entity.is_child:
        specs.append(IndexSpec(f"ix_{eid}_parent", ("parent_id", "parent_field", "line_no"), False))
    stored = _stored_columns(entity, registry, sealing)
    for field in entity.fields:
        column = stored.get(field.name, field.name)
        if not registry.of(field).has_column or column is None:
            continue
        if field.unique:
            specs.append(IndexSpec(f"ux_{field.id}", (column,), True))
        elif field.indexed or registry.of(field).foreign_key(field) is not None:
            specs.append(IndexSpec(f"ix_{field.id}", (column, "id"), False))
    for index in entity.doc.get("indexes") or []:
        mapped = [stored.get(n, n) for n in index["fields"]]
        names = tuple(n for n in mapped if n is not None)
        if len(names) != len(mapped):
            continue  # refused by the encryption checks before it could be published
        ids = [(entity.field(n).id if entity.field(n) else n) for n in index["fields"]]  # type: ignore[union-attr]
        digest = hashlib.sha1("|".join(ids).encode()).hexdigest()[:12]
        unique = bool(index.get("unique"))
        prefix = "ux" if unique else "ix"
        columns = names if unique or "id" in names else (*names, "id")
        specs.append(IndexSpec(f"{prefix}_{eid}_{digest}", columns, unique))
    return specs


def _stored_columns(
    entity: EntityDef, registry: FieldTypeRegistry, sealing: Sealing
) -> dict[str, str | None]:
    """Map each encrypted field to the column its indexes use: the search hash, or None."""
    found: dict[str, str | None] = {}
    for field in entity.fields:
        field_type = registry.of(field)
        if sealing.is_sealed(field, field_type):
            found[field.name] = hash_column(field.name) if sealing.has_hash(field, field_type) else None
    return found
