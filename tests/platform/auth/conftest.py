"""Fixtures for sign-in tests: an app with small limits, a movable clock and signed-in clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from crm_platform.app import create_app
from crm_platform.auth import clock
from crm_platform.services import CrmServices
from tests.platform.auth.authsupport import FakeClock
from tests.platform.encryptionsupport import TEST_ENCRYPTION


def make_app(db_url: str, tmp_path: Path, **config: Any) -> Flask:
    """Return an app on ``db_url`` with test settings plus ``config``."""
    settings = {
        "CRM_DATABASE_URL": db_url,
        "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
        "CRM_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "test",
        "TESTING": True,
        **TEST_ENCRYPTION,
        **config,
    }
    return create_app(settings)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Freeze the sign-in clock at a fixed instant; tests move it with ``advance``."""
    fake = FakeClock(dt.datetime(2026, 11, 23, 9, 0, 10, tzinfo=dt.UTC))
    monkeypatch.setattr(clock, "now", fake.now)
    return fake


@pytest.fixture
def auth_app(db_url: str, tmp_path: Path, fake_clock: FakeClock) -> Iterator[Flask]:
    """Return an app on a fresh database, with the test clock."""
    built = make_app(db_url, tmp_path)
    yield built
    built.extensions["crm"].engine.dispose()


@pytest.fixture
def auth_svc(auth_app: Flask) -> CrmServices:
    """Return the services of ``auth_app``."""
    found: CrmServices = auth_app.extensions["crm"]
    return found
