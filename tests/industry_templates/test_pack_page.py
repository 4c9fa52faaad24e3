"""/admin/packs: administrators see bundled and installed packs and install or upgrade them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from industry_templates import installer
from tests.industry_templates.packsupport import (
    ADMIN,
    ADMIN_PASSWORD,
    Site,
    bundle_dir,
    fixture_pack,
    records_of,
)

V10, V11 = fixture_pack("tinyshop-1.0"), fixture_pack("tinyshop-1.1")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _signed_in(site: Site, username: str, password: str) -> FlaskClient:
    client = site.client()
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bundled-packs folder holding tinyshop 1.0."""
    root = bundle_dir(tmp_path / "bundled", tinyshop=V10)
    monkeypatch.setattr(installer, "BUNDLED_DIR", root)
    return root


def test_install_then_preview_and_upgrade_from_the_page(
    pack_site: Callable[..., Site], bundled: Path
) -> None:
    site = pack_site()
    client = _signed_in(site, ADMIN, ADMIN_PASSWORD)
    page = client.get("/admin/packs?lang=en")
    assert page.status_code == 200 and 'data-pack="tinyshop"' in page.text and "Install" in page.text
    token = _csrf(page.text)
    response = client.post(
        "/admin/packs/tinyshop/install", data={"csrf_token": token, "with_sample_data": "on"}
    )
    assert response.status_code == 302
    assert len(records_of(site, "member")) == 2
    assert "Installed tinyshop 1.0.0 (6 sample records)." in client.get("/admin/packs?lang=en").text
    bundle_dir(bundled, tinyshop=V11)  # the bundled pack moves on to 1.1
    page = client.get("/admin/packs?lang=zh-CN")
    assert "预览升级" in page.text
    preview = client.post(
        "/admin/packs/tinyshop/upgrade", data={"csrf_token": _csrf(page.text), "dry_run": "1"}
    )
    assert preview.status_code == 200 and "升级预览" in preview.text
    assert site.services.metadata.active_version() == 1
    done = client.post("/admin/packs/tinyshop/upgrade", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 200 and site.services.metadata.active_version() == 2


def test_errors_show_on_the_page_and_normal_users_are_refused(
    pack_site: Callable[..., Site], bundled: Path
) -> None:
    site = pack_site()
    client = _signed_in(site, ADMIN, ADMIN_PASSWORD)
    token = _csrf(client.get("/admin/packs").text)
    response = client.post(
        "/admin/packs/tinyshop/install",
        data={"csrf_token": token, "with_sample_data": "on", "demo_password": "short"},
    )
    assert response.status_code == 422 and "password" in response.text
    assert client.post("/admin/packs/nothing/install", data={"csrf_token": token}).status_code == 404
    create_user(site.services.engine, "alice", "alice-password")
    other = _signed_in(site, "alice", "alice-password")
    assert other.get("/admin/packs").status_code == 403


def test_the_api_installs_a_bundled_pack_by_name(pack_site: Callable[..., Site], bundled: Path) -> None:
    site = pack_site()
    api = site.api()
    listing = api.ok("GET", "/packs")
    assert listing["bundled"] == [
        {
            "name": "tinyshop",
            "version": "1.0.0",
            "label": {"en": "Tiny shop", "zh-CN": "小店"},
            "description": listing["bundled"][0]["description"],
            "installed_version": None,
        }
    ]
    report = api.ok("POST", "/packs/install", {"pack": "tinyshop"}, status=201)
    assert report["records"] == 0 and api.ok("GET", "/packs")["bundled"][0]["installed_version"] == "1.0.0"
