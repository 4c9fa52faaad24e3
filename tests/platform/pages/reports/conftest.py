"""The report and dashboard page tests run on the report API tests' app and shops (two stores' managers)."""

from __future__ import annotations

from tests.platform.api.conftest import admin, anonymous, api_app, api_svc, user  # noqa: F401  (fixtures)
from tests.platform.api.reportsupport import bob, shops  # noqa: F401  (fixtures)
from tests.platform.api.test_api_dashboards import board  # noqa: F401  (fixture)
