"""Helpers for the encryption tests: keyrings, a site whose metadata service encrypts, raw column reads."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metamodel.crypto.keyring import Keyring
from metamodel.crypto.sealing import Sealing
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.versions import MetadataService
from tests.metamodel.mmsupport import FakeClock, Site

# Fixed keys (test parameters must be the same in every pytest-xdist worker).
KEY_OLD = base64.b64encode(bytes(range(32))).decode()
KEY_NEW = base64.b64encode(bytes(range(32, 64))).decode()
SEARCH_KEY = base64.b64encode(bytes(range(64, 96))).decode()


def keyring(spec: str = f"k0:{KEY_OLD}", search: str | None = SEARCH_KEY) -> Keyring:
    """Return a keyring from a CRM_ENCRYPTION_KEYS-style string."""
    return Keyring.parse(spec, search)


def sealed_site(engine: Engine, registry: FieldTypeRegistry, ring: Keyring | None) -> Site:
    """Return a Site whose metadata service stores sensitive fields under ``ring`` (None: unencrypted)."""
    service = MetadataService(engine, registry, sealing=Sealing(ring))
    return Site(engine, registry, service, FakeClock())


def raw_column(engine: Engine, table: str, column: str) -> list[Any]:
    """Return a column's stored values by plain SQL, ordered by id."""
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(f'SELECT "{column}" FROM "{table}" ORDER BY id').scalars())


def raw_dump(engine: Engine, table: str) -> str:
    """Return every stored value of a table as one text, as someone reading the database would see it."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
    return "\n".join(repr(tuple(row)) for row in rows)
