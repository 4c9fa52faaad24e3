"""Metamodel fixtures: a migrated database, the field-type registry, the metadata service and a publisher.

``db_url`` and ``db_kind`` come from tests/conftest.py, so every test here runs on SQLite or on
PostgreSQL depending on CRM_TEST_DATABASE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from metamodel.database import make_engine, upgrade_database
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.records.runtime import RecordRuntime
from metamodel.versions import MetadataService
from tests.metamodel.mmsupport import FakeClock, Site


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database with the system tables migrated."""
    engine = make_engine(db_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def registry() -> FieldTypeRegistry:
    """A registry holding the built-in field types."""
    return register_builtin_field_types(FieldTypeRegistry())


@pytest.fixture
def svc(engine: Engine, registry: FieldTypeRegistry) -> MetadataService:
    """The metadata service on the test database."""
    return MetadataService(engine, registry)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at T0."""
    return FakeClock()


@pytest.fixture
def site(engine: Engine, registry: FieldTypeRegistry, svc: MetadataService, clock: FakeClock) -> Site:
    """Everything needed to publish metadata and work with records."""
    return Site(engine, registry, svc, clock)


@pytest.fixture
def publish(site: Site) -> Callable[..., RecordRuntime]:
    """Publish a list of entity docs and return a RecordRuntime bound to the new model."""
    return site.publish
