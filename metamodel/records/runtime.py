"""The one record runtime: create, read, update, delete and list records of any published entity.

The parts live in their own modules: shared steps in ``base``, reads in ``reads``, the save
pipeline in ``pipeline``, lines and the payload checks in ``lines``, deletes in ``delete``.
"""

from __future__ import annotations

from metamodel.records.base import SYSTEM, RuntimeBase, utcnow
from metamodel.records.delete import RecordDeletes
from metamodel.records.pipeline import RecordSaves
from metamodel.records.reads import Page


class RecordRuntime(RecordSaves, RecordDeletes):
    """The one record runtime; bound to a compiled metadata version, an engine and the hooks."""


__all__ = ["SYSTEM", "Page", "RecordRuntime", "RuntimeBase", "utcnow"]
