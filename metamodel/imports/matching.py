"""Finding the stored record a unit's key points at, by normalised key values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from metamodel.imports.normalise import normalise
from metamodel.model import EntityModel


class KeyIndex:
    """The entity's records by normalised key, read once per batch and kept current as records are created."""

    def __init__(self, model: EntityModel, key_fields: list[str]) -> None:
        self.model = model
        self.key_fields = key_fields
        self._ids: dict[tuple[str, ...], list[int]] | None = None
        self._added: list[tuple[tuple[str, ...], int]] = []

    def load(self, conn: Connection, scope: list[Any]) -> None:
        """Read the key values of the stored records ``scope`` (WHERE clauses) lets the importing user read."""
        table = self.model.table
        columns = [table.c[name] for name in self.key_fields]
        found: dict[tuple[str, ...], list[int]] = {}
        for row in conn.execute(select(table.c.id, *columns).where(*scope)):
            key = self.key_of([row[i + 1] for i in range(len(columns))])
            if key is not None:
                found.setdefault(key, []).append(int(row[0]))
        self._ids = found

    def key_of(self, values: list[object]) -> tuple[str, ...] | None:
        """Return the normalised key of the given values (None when one is empty)."""
        parts = tuple(
            normalise(self.model.fields[n], v) for n, v in zip(self.key_fields, values, strict=True)
        )
        return None if any(not p for p in parts) else parts

    def find(self, key: tuple[str, ...]) -> list[int]:
        """Return the ids of the stored records with ``key``."""
        assert self._ids is not None, "KeyIndex.load was not called"
        return self._ids.get(key, [])

    def add(self, key: tuple[str, ...], record_id: int) -> None:
        """Remember a record just created."""
        assert self._ids is not None
        self._ids.setdefault(key, []).append(record_id)
        self._added.append((key, record_id))

    def mark(self) -> int:
        """Return a point to go back to when the records created after it are rolled back."""
        return len(self._added)

    def rollback_to(self, mark: int) -> None:
        """Forget the records created since ``mark`` (their savepoint was rolled back)."""
        while len(self._added) > mark:
            key, record_id = self._added.pop()
            if self._ids is not None:
                self._ids[key].remove(record_id)
