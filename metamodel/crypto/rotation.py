"""Key rotation: re-encrypt every stored ciphertext under the current key, in resumable batches.

Rotation works on the physical columns (``sys_physical_column``), so columns of removed fields and
backups of re-typed ones are rotated too, and an old key can then be dropped from the keyring. It
needs no field types: a value is decrypted and encrypted again byte for byte, with the same
associated data (entity and field id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, Table, Text, and_, func, not_, select

from metamodel.crypto.keyring import FORMAT, Keyring
from metamodel.crypto.sealing import SEALED_SIGNATURE, Sealing, field_aad
from metamodel.definitions import Bundle
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.systables import physical_columns, physical_tables
from metamodel.tables import field_signature

DEFAULT_BATCH = 500


@dataclass
class RotationReport:
    """How many values each column had re-encrypted, and how many were already current."""

    rewritten: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Values re-encrypted in this run."""
        return sum(self.rewritten.values())


@dataclass(frozen=True)
class _SealedColumn:
    label: str
    table: str
    column: str
    aad: bytes


def _sealed_columns(conn: Connection) -> list[_SealedColumn]:
    rows = conn.execute(
        select(physical_columns, physical_tables.c.table_name)
        .join(physical_tables, physical_tables.c.entity_id == physical_columns.c.entity_id)
        .where(physical_columns.c.signature == SEALED_SIGNATURE)
        .order_by(physical_columns.c.entity_id, physical_columns.c.field_id)
    ).all()
    return [
        _SealedColumn(
            f"{row.table_name}.{row.column_name}",
            row.table_name,
            row.column_name,
            # A backup column's id is "<field id>@<backup name>"; its values were sealed for the field.
            field_aad(row.entity_id, row.field_id.split("@", 1)[0]),
        )
        for row in rows
    ]


def rotate_keys(
    engine: Engine,
    keyring: Keyring,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every value not under the current key; each batch commits, so a re-run resumes."""
    report = RotationReport()
    current_prefix = f"{FORMAT}:{keyring.current}:"
    with engine.connect() as conn:
        columns = _sealed_columns(conn)
    for sealed in columns:
        table = Table(
            sealed.table, MetaData(), Column("id", BigInteger), Column(sealed.column, Text, key="value")
        )
        value = table.c.value
        stale = and_(value.is_not(None), not_(value.startswith(current_prefix, autoescape=True)))
        done = 0
        last_id: Any = None
        while True:
            with engine.begin() as conn:
                query = select(table.c.id, value).where(stale).order_by(table.c.id).limit(batch_size)
                if last_id is not None:
                    query = query.where(table.c.id > last_id)
                rows = conn.execute(query).all()
                for record_id, stored in rows:
                    fresh = keyring.encrypt(keyring.decrypt(stored, sealed.aad), sealed.aad)
                    # Only if nobody rewrote the value meanwhile (a save re-encrypts under the current key anyway).
                    conn.execute(
                        table.update().where(table.c.id == record_id, value == stored).values(value=fresh)
                    )
            if not rows:
                break
            done += len(rows)
            last_id = rows[-1][0]
            if progress is not None:
                progress(sealed.label, done)
        report.rewritten[sealed.label] = done
        with engine.connect() as conn:
            report.current[sealed.label] = conn.execute(
                select(func.count())
                .select_from(table)
                .where(value.startswith(current_prefix, autoescape=True))
            ).scalar_one()
    return report


def pending_encryption(
    conn: Connection, bundle: Bundle, registry: FieldTypeRegistry, sealing: Sealing
) -> list[str]:
    """Return the fields whose stored form (encrypted or not) differs from what ``sealing`` wants."""
    stored = {
        (row.entity_id, row.field_id): row.signature
        for row in conn.execute(select(physical_columns).where(physical_columns.c.status == "active"))
    }
    pending = []
    for entity in bundle.entities():
        for definition in entity.fields:
            if definition.type not in registry or not registry.of(definition).has_column:
                continue
            signature = stored.get((entity.id, definition.id))
            if signature is None:
                continue
            wants_sealed = field_signature(definition, registry, sealing) == SEALED_SIGNATURE
            if wants_sealed != (signature == SEALED_SIGNATURE):
                pending.append(f"{entity.name}.{definition.name}")
    return pending
