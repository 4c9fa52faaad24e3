"""The studio's packs page (/studio/packs; /admin/packs sends there): administrators see bundled and
installed packs and install, upgrade, uninstall and export them."""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from industry_templates import installer
from industry_templates.uninstall import pack_rows
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
    page = client.get("/studio/packs?lang=en")
    assert page.status_code == 200 and 'data-pack="tinyshop"' in page.text and "Install" in page.text
    token = _csrf(page.text)
    response = client.post(
        "/studio/packs/tinyshop/install", data={"csrf_token": token, "with_sample_data": "on"}
    )
    assert response.status_code == 302
    assert len(records_of(site, "member")) == 2
    assert "Installed tinyshop 1.0.0 (6 sample records)." in client.get("/studio/packs?lang=en").text
    bundle_dir(bundled, tinyshop=V11)  # the bundled pack moves on to 1.1
    page = client.get("/studio/packs?lang=zh-CN")
    assert "预览升级" in page.text
    preview = client.post(
        "/studio/packs/tinyshop/upgrade", data={"csrf_token": _csrf(page.text), "dry_run": "1"}
    )
    assert preview.status_code == 200 and "升级预览" in preview.text
    assert site.services.metadata.active_version() == 1
    done = client.post("/studio/packs/tinyshop/upgrade", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 200 and site.services.metadata.active_version() == 2


def test_errors_show_on_the_page_and_normal_users_are_refused(
    pack_site: Callable[..., Site], bundled: Path
) -> None:
    site = pack_site()
    client = _signed_in(site, ADMIN, ADMIN_PASSWORD)
    token = _csrf(client.get("/studio/packs").text)
    response = client.post(
        "/studio/packs/tinyshop/install",
        data={"csrf_token": token, "with_sample_data": "on", "demo_password": "short"},
    )
    assert response.status_code == 422 and "password" in response.text
    assert client.post("/studio/packs/nothing/install", data={"csrf_token": token}).status_code == 404
    create_user(site.services.engine, "alice", "alice-password")
    other = _signed_in(site, "alice", "alice-password")
    assert other.get("/studio/packs").status_code == 403


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


def test_the_old_address_sends_to_the_studio(pack_site: Callable[..., Site], bundled: Path) -> None:
    client = _signed_in(pack_site(), ADMIN, ADMIN_PASSWORD)
    moved = client.get("/admin/packs")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/studio/packs")


def test_conflicts_in_words_export_uninstall_and_purge(pack_site: Callable[..., Site], bundled: Path) -> None:
    site = pack_site()
    svc = site.services
    client = _signed_in(site, ADMIN, ADMIN_PASSWORD)
    token = _csrf(client.get("/studio/packs").text)
    assert client.post("/studio/packs/tinyshop/install", data={"csrf_token": token}).status_code == 302
    # The site renames members; the pack's next version renames them too: the site's name is kept.
    member = copy.deepcopy(svc.metadata.draft().documents["entity"]["member"])
    member["label"] = {"en": "Shopper", "zh-CN": "顾客"}
    svc.metadata.put_document("entity", "member", member, "test")
    svc.metadata.publish("test", "our name")
    bundle_dir(bundled, tinyshop=V11)
    preview = client.post(
        "/studio/packs/tinyshop/upgrade?lang=en", data={"csrf_token": token, "dry_run": "1"}
    )
    assert preview.status_code == 200 and "Upgrade preview" in preview.text
    row = preview.text.split('class="table table-vcenter records crm-log crm-pack-conflicts"')[1]
    assert "Shopper › Label › English" in row and "Club member" in row and "{" not in row.split("</table>")[0]
    assert "Upgrade to 1.1.0" in preview.text
    # Export: a zip with the manifest; a bad name is refused in words.
    zipped = client.post(
        "/studio/packs/export",
        data={"csrf_token": token, "name": "my_shop", "version": "2.0.0", "label_en": "Mine"},
    )
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        manifest = json.loads(archive.read("pack.json"))
    assert (
        manifest["name"] == "my_shop" and manifest["version"] == "2.0.0" and manifest["label"]["en"] == "Mine"
    )
    refused = client.post(
        "/studio/packs/export?lang=zh-CN", data={"csrf_token": token, "name": "1 bad", "version": "x"}
    )
    assert refused.status_code == 422 and "请更正以下问题" in refused.text and 'value="1 bad"' in refused.text
    # Uninstall keeps the records; the kept records can then be deleted for good.
    page = client.get("/studio/packs?lang=en")
    assert "Uninstall" in page.text and "Shopper" in page.text  # the pack's entities by their labels
    done = client.post("/studio/packs/tinyshop/uninstall?lang=zh-CN", data={"csrf_token": token})
    assert done.status_code == 302 and "member" not in svc.metadata.model().entities
    page = client.get("/studio/packs?lang=zh-CN")
    assert "已卸载 tinyshop，记录已保留。" in page.text and "删除保留的记录" in page.text
    purged = client.post("/studio/packs/tinyshop/uninstall", data={"csrf_token": token, "purge": "on"})
    assert purged.status_code == 302
    assert "已卸载 tinyshop 并删除其记录。" in client.get("/studio/packs?lang=zh-CN").text
    assert not [r for r in pack_rows(svc) if r["name"] == "tinyshop"]
    missing = client.post("/studio/packs/tinyshop/uninstall?lang=en", data={"csrf_token": token})
    assert missing.status_code == 404 and "This pack is not installed." in missing.text
