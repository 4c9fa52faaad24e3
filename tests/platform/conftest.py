"""Fixtures for the platform tests: the CRM_* environment of one fresh database and its app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.services import CrmServices
from tests.platform.encryptionsupport import TEST_ENCRYPTION


@pytest.fixture
def crm_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every app built in this test (CLI commands included) at a fresh database and instance folder."""
    env = {
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path / "instance"),
        "CRM_SECRET_KEY": "test-secret",
        "CRM_SCHEDULER": "off",  # tests tick the scheduler themselves
        **TEST_ENCRYPTION,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CRM_DEMO_PASSWORD", raising=False)
    return env


@pytest.fixture
def app(crm_env: dict[str, str]) -> Iterator[Flask]:
    """Return an app on the test database; its engine is closed afterwards."""
    built = create_app()
    yield built
    built.extensions["crm"].engine.dispose()


@pytest.fixture
def svc(app: Flask) -> CrmServices:
    """Return the services of ``app``."""
    found: CrmServices = app.extensions["crm"]
    return found
