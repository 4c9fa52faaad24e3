"""Fixtures for expression tests: a published school/shop model on a real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from metamodel.database import make_engine, upgrade_database
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import SiteModel
from metamodel.records.runtime import RecordRuntime
from metamodel.versions import MetadataService
from rule_engine.expressions import FunctionRegistry, register_builtin_functions

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

ENTITIES: dict[str, dict[str, Any]] = {
    "customer": {
        "title_field": "name",
        "fields": [
            {"name": "name", "type": "text"},
            {"name": "tier", "type": "select", "options": [{"value": "gold"}, {"value": "silver"}]},
            {"name": "credit", "type": "currency"},
            {"name": "born", "type": "date"},
            {"name": "vip", "type": "boolean"},
            {"name": "seen_at", "type": "datetime"},
            {"name": "lines", "type": "child_table", "child_entity": "line"},
        ],
    },
    "line": {
        "is_child": True,
        "fields": [{"name": "qty", "type": "integer"}, {"name": "price", "type": "decimal"}],
    },
    "purchase": {
        "fields": [
            {"name": "customer", "type": "link", "target": "customer"},
            {"name": "total", "type": "currency"},
            {"name": "placed", "type": "date"},
        ]
    },
    "student": {"title_field": "name", "fields": [{"name": "name", "type": "text"}]},
    "attendance": {
        "fields": [
            {"name": "student", "type": "link", "target": "student"},
            {"name": "status", "type": "select", "options": [{"value": "present"}, {"value": "absent"}]},
            {"name": "held_on", "type": "date"},
        ]
    },
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database."""
    built = make_engine(db_url)
    upgrade_database(built)
    yield built
    built.dispose()


@pytest.fixture
def site(engine: Engine) -> SiteModel:
    """The published test model."""
    registry = register_builtin_field_types(FieldTypeRegistry())
    service = MetadataService(engine, registry)
    for name, doc in ENTITIES.items():
        service.put_document("entity", name, doc, "test")
    service.publish("test", "expressions")
    return service.model()


@pytest.fixture
def runtime(site: SiteModel, engine: Engine) -> RecordRuntime:
    """A record runtime on the test model with a fixed clock."""
    return RecordRuntime(site, engine, clock=lambda: NOW)


@pytest.fixture
def functions() -> FunctionRegistry:
    """The built-in function registry."""
    return register_builtin_functions(FunctionRegistry())
