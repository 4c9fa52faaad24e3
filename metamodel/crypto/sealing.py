"""Sealed columns: sensitive field values stored as AES-GCM ciphertext, with an optional search hash.

The keyring is handed in at start-up (``Sealing``) and reaches the tables through ``build_table``;
nothing here reads configuration. Each value is serialised through its field type, encrypted with
the entity and field ids as associated data (so a ciphertext copied into another column or table
does not decrypt), and read back through the field type again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from metamodel.crypto.keyring import Keyring
from metamodel.definitions import EntityDef, FieldDef
from metamodel.fieldtypes.base import FieldType, ValueProblem

SEALED_SIGNATURE = "Sealed"
HASH_SUFFIX = "__bidx"
# Operators an encrypted field answers through its search hash; isnull needs no value at all.
HASH_OPERATORS = ("eq", "ne", "in")


def hash_column(name: str) -> str:
    """Return the name of the search-hash column of field ``name``."""
    return f"{name}{HASH_SUFFIX}"


def field_aad(entity_id: str, field_id: str) -> bytes:
    """Return the associated data binding a ciphertext to one entity's field (ids survive renames)."""
    return f"{entity_id}/{field_id}".encode()


def can_seal(field_type: FieldType, definition: FieldDef) -> bool:
    """Whether values of this field can be stored encrypted (not references, not child tables)."""
    return (
        field_type.has_column
        and field_type.foreign_key(definition) is None
        and definition.type not in ("attachment", "link")
    )


@dataclass(frozen=True, eq=False)
class FieldSeal:
    """How one field's values are encrypted and hashed; compared and hashed by identity."""

    keyring: Keyring
    field_type: FieldType
    definition: FieldDef
    aad: bytes
    hashed: bool

    def encrypt(self, value: Any) -> str:
        """Return the stored ciphertext of a prepared value."""
        text = json.dumps(
            self.field_type.serialize(self.definition, value), separators=(",", ":"), default=str
        )
        return self.keyring.encrypt(text.encode(), self.aad)

    def decrypt(self, stored: str) -> Any:
        """Return the prepared value of a stored ciphertext."""
        raw = json.loads(self.keyring.decrypt(stored, self.aad))
        try:
            return self.field_type.prepare(self.definition, raw)
        except ValueProblem:
            return raw  # a stricter definition since the write: show the value rather than fail the read

    def search_hash(self, value: Any) -> str | None:
        """Return the search hash of a prepared value (None for an empty value)."""
        if value is None:
            return None
        serialized = self.field_type.serialize(self.definition, value)
        if isinstance(serialized, str):
            text = serialized.strip().casefold()
        else:
            text = json.dumps(serialized, sort_keys=True, separators=(",", ":"), default=str)
        return self.keyring.search_hash(text, self.aad)


class SealedType(TypeDecorator[Any]):
    """A TEXT column whose values are encrypted on the way in and decrypted on the way out."""

    impl = Text
    cache_ok = True

    def __init__(self, seal: FieldSeal) -> None:
        super().__init__()
        self.seal = seal

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.seal.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.seal.decrypt(value)


class Sealing:
    """The site's encryption setting: a keyring (sensitive fields are encrypted) or None (they are not)."""

    def __init__(self, keyring: Keyring | None = None) -> None:
        self.keyring = keyring

    @property
    def enabled(self) -> bool:
        """Whether sensitive fields are stored encrypted."""
        return self.keyring is not None

    def seal(self, entity: EntityDef, definition: FieldDef, field_type: FieldType) -> FieldSeal | None:
        """Return the seal of a field, or None when its values are stored as they are."""
        if self.keyring is None or not definition.get("sensitive") or not can_seal(field_type, definition):
            return None
        hashed = bool(definition.get("search_hash"))
        return FieldSeal(self.keyring, field_type, definition, field_aad(entity.id, definition.id), hashed)

    def is_sealed(self, definition: FieldDef, field_type: FieldType) -> bool:
        """Whether a field's column holds ciphertext under this setting."""
        return (
            self.keyring is not None
            and bool(definition.get("sensitive"))
            and can_seal(field_type, definition)
        )

    def has_hash(self, definition: FieldDef, field_type: FieldType) -> bool:
        """Whether a field gets a search-hash column under this setting."""
        return self.is_sealed(definition, field_type) and bool(definition.get("search_hash"))


NO_SEALING = Sealing()
