"""/api/v1/packs: administrators list, validate, install (zip upload), upgrade, uninstall and export packs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crm_platform.auth.users import create_user
from industry_templates.archive import zip_folder
from tests.industry_templates.packsupport import Site, fixture_pack
from tests.platform.api.apisupport import error_of

V10, V11 = fixture_pack("tinyshop-1.0"), fixture_pack("tinyshop-1.1")


def _upload(path: Path, **fields: str) -> dict[str, Any]:
    return {
        "data": {"file": (io.BytesIO(zip_folder(path)), "pack.zip"), **fields},
        "content_type": "multipart/form-data",
    }


def test_install_upgrade_uninstall_by_zip_upload(pack_site: Callable[..., Site]) -> None:
    site = pack_site()
    api = site.api()
    body = api.ok("POST", "/packs/validate", **_upload(V10))
    assert body == {"valid": True, "problems": []}
    report = api.ok(
        "POST",
        "/packs/install",
        status=201,
        **_upload(V10, with_sample_data="true", demo_password="demo-pass-123"),
    )
    assert (report["name"], report["version"], report["records"]) == ("tinyshop", "1.0.0", 6)
    listing = api.ok("GET", "/packs")
    assert [(p["name"], p["version"], p["status"]) for p in listing["installed"]] == [
        ("tinyshop", "1.0.0", "installed")
    ]
    assert listing["installed"][0]["translations"]["zh-CN"]["role.clerk.label"] == "店员"
    preview = api.ok("POST", "/packs/upgrade", **_upload(V11, dry_run="true"))
    assert preview["dry_run"] is True and preview["conflicts"] == []
    assert api.ok("GET", "/packs")["installed"][0]["version"] == "1.0.0"
    upgraded = api.ok("POST", "/packs/upgrade", **_upload(V11))
    assert upgraded["to_version"] == "1.1.0" and upgraded["metadata_version"] == 2
    removed = api.ok("DELETE", "/packs/tinyshop?purge=true")
    assert removed["purged"] is True
    assert api.ok("GET", "/packs")["installed"] == []


def test_bad_uploads_and_names_are_clear_errors(pack_site: Callable[..., Site]) -> None:
    site = pack_site()
    api = site.api()
    response = api.post(
        "/packs/install",
        data={"file": (io.BytesIO(b"not a zip"), "x.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and error_of(response)["code"] == "pack_invalid"
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape/pack.json", "{}")
    response = api.post(
        "/packs/install",
        data={"file": (io.BytesIO(evil.getvalue()), "x.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "unsafe" in error_of(response)["message"]
    assert api.post("/packs/install", {"pack": "../../etc"}).status_code == 404
    assert api.post("/packs/install", {}).status_code == 400
    response = api.post("/packs/install", **_upload(V10, with_sample_data="true", demo_password="short"))
    assert response.status_code == 422
    assert site.services.metadata.active_version() is None  # every refused request wrote nothing
    assert api.call("DELETE", "/packs/nothing").status_code == 404


def test_only_administrators_manage_packs(pack_site: Callable[..., Site]) -> None:
    site = pack_site()
    create_user(site.services.engine, "alice", "alice-password")
    api = site.api("alice")
    for method, path in (
        ("GET", "/packs"),
        ("POST", "/packs/install"),
        ("DELETE", "/packs/tinyshop"),
        ("GET", "/packs/export"),
    ):
        assert api.call(method, path).status_code == 403, path


def test_export_downloads_a_pack_zip(pack_site: Callable[..., Site]) -> None:
    site = pack_site(V10)
    response = site.api().get("/packs/export?name=my_shop&version=1.2.0")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "pack.json" in names and "metadata/entity/member.json" in names
    assert site.api().get("/packs/export?name=../x").status_code == 422
