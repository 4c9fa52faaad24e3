"""Fixtures for page tests: an app with a published customer/company/line model and a signed-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import launched_browser, serving

PASSWORD = "pages-pass-1"

ENTITIES: dict[str, dict[str, Any]] = {
    "company": {
        "title_field": "name",
        "fields": [{"name": "name", "type": "text", "required": True, "searchable": True}],
    },
    "line": {
        "is_child": True,
        "fields": [
            {"name": "item", "type": "text", "required": True, "label": {"en": "Item", "zh-CN": "品名"}},
            {"name": "qty", "type": "integer", "min": 1},
        ],
    },
    "customer": {
        "label": {"en": "Customer", "zh-CN": "客户"},
        "title_field": "name",
        "autonumber": "C-{0000}",
        "list_fields": ["name", "tier", "credit", "company"],
        "fields": [
            {
                "name": "name",
                "type": "text",
                "required": True,
                "searchable": True,
                "label": {"en": "Name", "zh-CN": "名称"},
            },
            {
                "name": "tier",
                "type": "select",
                "indexed": True,
                "options": [{"value": "gold", "label": {"en": "Gold", "zh-CN": "金卡"}}, {"value": "silver"}],
            },
            {"name": "vip", "type": "boolean"},
            {
                "name": "tags",
                "type": "multi_select",
                "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}],
            },
            {"name": "credit", "type": "currency", "currency": "CNY"},
            {"name": "born", "type": "date"},
            {"name": "seen_at", "type": "datetime"},
            {"name": "email", "type": "email"},
            {"name": "notes", "type": "long_text"},
            {"name": "company", "type": "link", "target": "company"},
            {"name": "lines", "type": "child_table", "child_entity": "line"},
        ],
    },
}


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no csrf token"
    return found.group(1)


@pytest.fixture
def site_app(app: Flask, svc: CrmServices) -> Flask:
    """The app with the page-test entities published and a user 'clerk'."""
    for name, doc in ENTITIES.items():
        svc.metadata.put_document("entity", name, doc, "test")
    svc.metadata.publish("test", "page tests")
    create_user(svc.engine, "clerk", PASSWORD)
    return app


def admin_client(app: Flask, svc: CrmServices, name: str = "boss") -> FlaskClient:
    """Create an administrator ``name`` and return a test client signed in as her."""
    create_user(svc.engine, name, PASSWORD, is_admin=True)
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    return client


@pytest.fixture
def client(site_app: Flask) -> FlaskClient:
    """A test client signed in as 'clerk'."""
    client = site_app.test_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One chromium for the module (browser tests)."""
    with launched_browser(chromium_path) as launched:
        yield launched


@pytest.fixture(scope="module")
def base_url(site: tuple[Flask, CrmServices]) -> Iterator[str]:
    """The module's `site` app served on a free port (browser tests define `site`)."""
    with serving(site[0]) as url:
        yield url
