"""Shared fixtures: a brand-new real database per test, and the Debian chromium binary.

CRM_TEST_DATABASE selects the backend: ``sqlite`` (default) or ``postgresql`` (a fresh schema
in database ``test`` on 127.0.0.1, overridable with CRM_TEST_PG_URL).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

DB_KINDS = ("sqlite", "postgresql")
PG_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
CHROMIUM = "/usr/bin/chromium"


def _db_kind() -> str:
    kind = os.environ.get("CRM_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
    if kind not in DB_KINDS:
        raise pytest.UsageError(f"CRM_TEST_DATABASE must be one of {DB_KINDS}, not {kind!r}")
    return kind


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header() -> str:
    """Show which database backend the run uses."""
    return f"CRM_TEST_DATABASE={_db_kind()}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip tests marked ``postgres`` unless the run targets PostgreSQL."""
    if _db_kind() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with CRM_TEST_DATABASE=postgresql (make test-pg)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def db_kind() -> str:
    """Return the backend under test: 'sqlite' or 'postgresql'."""
    return _db_kind()


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a brand-new, empty database of ``kind``; it is removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'crm.db'}"
        return
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # application_name lets teardown end connections the test left open (they would block DROP).
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    url = sa.make_url(PG_URL).update_query_dict(query)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": schema},
            )
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a brand-new, empty database; it is removed afterwards."""
    with fresh_database(db_kind, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Return the Debian chromium binary; skip if it is missing (fail instead when CI=true)."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path:
        return path
    message = f"{CHROMIUM} not found: install Debian's chromium (make test does so as root)"
    if _in_ci():
        pytest.fail(message + " [CI=true: browser tests may not be skipped]", pytrace=False)
    pytest.skip(message)
