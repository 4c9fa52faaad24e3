"""Helpers for the metamodel tests: entity-document builders, a fake clock and the ``Site`` wrapper."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import physical_columns
from metamodel.versions import MetadataService, VersionInfo

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def entity(name: str, fields: Iterable[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Return an entity document."""
    return {"name": name, "fields": [dict(f) for f in fields], **extra}


def select_field(name: str, values: Iterable[str], **extra: Any) -> dict[str, Any]:
    """Return a select field with the given option values."""
    return {"name": name, "type": "select", "options": [{"value": v} for v in values], **extra}


def as_bundle(entities: Iterable[dict[str, Any]] | Mapping[str, Any], **other: Any) -> Bundle:
    """Build a bundle from entity documents (a list, or a full ``{"entity": ...}`` mapping)."""
    if isinstance(entities, Mapping):
        return Bundle.from_json(copy.deepcopy(dict(entities)))
    data: dict[str, Any] = {"entity": {doc["name"]: copy.deepcopy(doc) for doc in entities}}
    data.update(copy.deepcopy(other))
    return Bundle.from_json(data)


@dataclass
class Site:
    """A migrated database with its metadata service, a fake clock and helpers to publish and look."""

    engine: Engine
    registry: FieldTypeRegistry
    svc: MetadataService
    clock: FakeClock

    def publish(
        self, entities: Iterable[dict[str, Any]] | Mapping[str, Any], comment: str = "", **other: Any
    ) -> RecordRuntime:
        """Replace the draft with these entity docs, publish, and return a runtime on the new model."""
        self.svc.replace_draft(as_bundle(entities, **other), "tester")
        try:
            self.svc.publish("tester", comment)
        except MetadataInvalid as exc:  # show the problems in the failure, not just "invalid"
            exc.args = (f"{exc.message}: {[p.as_dict() for p in exc.problems]}",)
            raise
        return self.runtime()

    def publish_info(self, entities: Iterable[dict[str, Any]], comment: str = "") -> VersionInfo:
        """Like ``publish`` but return the VersionInfo (with the sync report)."""
        self.svc.replace_draft(as_bundle(entities), "tester")
        return self.svc.publish("tester", comment)

    def draft_docs(self) -> dict[str, dict[str, Any]]:
        """Return a copy of the draft's entity documents (with their ids), to edit and publish again."""
        return copy.deepcopy(self.svc.draft().docs("entity"))

    def rollback(self, number: int) -> RecordRuntime:
        """Roll back to version ``number`` and return a runtime on the new model."""
        self.svc.rollback(number, "tester")
        return self.runtime()

    def runtime(self) -> RecordRuntime:
        """Return a runtime bound to the active model, the engine and the fake clock."""
        return RecordRuntime(self.svc.model(), self.engine, clock=self.clock)

    def rows(self, table: str, *columns: str) -> list[dict[str, Any]]:
        """Read raw rows of a physical table (ordered by id), bypassing the model's column types."""
        with self.engine.connect() as conn:
            names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns) or "*"
            quoted = conn.dialect.identifier_preparer.quote(table)
            result = conn.exec_driver_sql(f"SELECT {names} FROM {quoted} ORDER BY id")
            return [dict(r) for r in result.mappings()]

    def columns(self, table: str) -> list[str]:
        """Return the column names of a physical table."""
        return [c["name"] for c in sa.inspect(self.engine).get_columns(table)]

    def tables(self) -> set[str]:
        """Return the names of all physical tables."""
        return set(sa.inspect(self.engine).get_table_names())

    def column_states(self) -> list[dict[str, Any]]:
        """Return sys_physical_column rows (what schema sync tracks), ordered for comparison."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(physical_columns).order_by(
                    physical_columns.c.entity_id, physical_columns.c.field_id
                )
            )
            return [dict(r) for r in rows.mappings()]
