"""Fixtures for the API tests: an app on a fresh database, an administrator and a normal user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api
from tests.platform.api.reportsupport import bob, shops  # noqa: F401  (fixtures of the report tests)
from tests.platform.encryptionsupport import TEST_ENCRYPTION


@pytest.fixture
def api_app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Return an app on a fresh database with attachments under the test's folder."""
    built = create_app(
        {
            "CRM_DATABASE_URL": db_url,
            "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
            "CRM_INSTANCE_DIR": str(tmp_path),
            "SECRET_KEY": "test",
            "TESTING": True,
            **TEST_ENCRYPTION,
        }
    )
    yield built
    built.extensions["crm"].engine.dispose()


@pytest.fixture
def api_svc(api_app: Flask) -> CrmServices:
    """Return the services of ``api_app``."""
    found: CrmServices = api_app.extensions["crm"]
    return found


@pytest.fixture
def admin(api_app: Flask, api_svc: CrmServices) -> Api:
    """Return a client authenticated with an administrator's API token."""
    user = create_user(api_svc.engine, "admin", "admin-password", is_admin=True)
    return Api(api_app.test_client(), create_token(api_svc.engine, user.id, "tests"))


@pytest.fixture
def user(api_app: Flask, api_svc: CrmServices) -> Api:
    """Return a client authenticated with a normal user's API token."""
    account = create_user(api_svc.engine, "alice", "alice-password")
    return Api(api_app.test_client(), create_token(api_svc.engine, account.id, "tests"))


@pytest.fixture
def anonymous(api_app: Flask) -> Api:
    """Return a client without credentials."""
    return Api(api_app.test_client(), None)
