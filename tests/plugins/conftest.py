"""Fixtures for plugin tests: an app on a fresh database with the sample and broken test plugins installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api
from tests.plugins.pluginsupport import BROKEN, SAMPLE, install_distribution

ADMIN_PASSWORD = "plugin-admin-pw"


def app_config(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str | bool]:
    """Return the config of a test app."""
    return {
        "CRM_DATABASE_URL": db_url,
        "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
        "CRM_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "test",
        "TESTING": True,
        **extra,
    }


@pytest.fixture
def plugin_app(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app with the sample plugin and the broken ones installed through entry points."""
    monkeypatch.delenv("CRM_PLUGINS", raising=False)
    monkeypatch.delenv("CRM_ACTION_PLUGINS", raising=False)
    install_distribution(tmp_path / "site", monkeypatch, {**SAMPLE, **BROKEN})
    built = create_app(app_config(db_url, tmp_path))
    yield built
    built.extensions["crm"].engine.dispose()


@pytest.fixture
def plugin_svc(plugin_app: Flask) -> CrmServices:
    """The services of ``plugin_app``."""
    found: CrmServices = plugin_app.extensions["crm"]
    return found


@pytest.fixture
def admin(plugin_app: Flask, plugin_svc: CrmServices) -> Api:
    """A client with an administrator's API token."""
    user = create_user(plugin_svc.engine, "admin", ADMIN_PASSWORD, is_admin=True)
    return Api(plugin_app.test_client(), create_token(plugin_svc.engine, user.id, "tests"))


@pytest.fixture
def user(plugin_app: Flask, plugin_svc: CrmServices) -> Api:
    """A client with a normal user's API token."""
    account = create_user(plugin_svc.engine, "alice", "alice-password")
    return Api(plugin_app.test_client(), create_token(plugin_svc.engine, account.id, "tests"))
