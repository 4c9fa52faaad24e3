"""Exporting the site's configuration as a pack that validates and installs on an empty site."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from industry_templates.export import ExportRefused, export_pack
from industry_templates.installer import validate_pack
from metamodel.access.admin import AccessAdmin
from metamodel.errors import RecordInvalid
from tests.industry_templates.packsupport import Site, fixture_pack, installed_site


def test_an_exported_site_reinstalls_on_an_empty_site(
    pack_site: Callable[..., Site], other_db_url: str, tmp_path: Path
) -> None:
    site = pack_site(fixture_pack("tinyshop-1.0"))
    member = site.services.metadata.draft().docs("entity")["member"]
    member["fields"].append({"name": "wechat", "type": "text", "label": {"en": "WeChat", "zh-CN": "微信"}})
    site.services.metadata.put_document("entity", "member", member, "admin")
    site.services.metadata.publish("admin")
    AccessAdmin(site.services.engine).grant("clerk", "visit", "read", "own")
    folder = tmp_path / "export"
    files = export_pack(
        site.services, folder, name="my_shop", version="2.0.0", label={"en": "My shop", "zh-CN": "我的店"}
    )
    assert folder / "metadata" / "entity" / "member.json" in files
    assert not (folder / "roles" / "auditor.json").exists()
    assert "id" not in json.loads((folder / "metadata" / "entity" / "member.json").read_text("utf-8"))
    assert validate_pack(folder) == []
    other = installed_site(other_db_url, folder, sample=False, instance_dir=tmp_path / "other")
    try:
        bundle = other.services.metadata.model().bundle
        assert {f["name"] for f in bundle.docs("entity")["member"]["fields"]} >= {
            "wechat",
            "phone",
            "home_store",
        }
        assert {"entity": "visit", "operation": "read", "scope": "own"} in AccessAdmin(
            other.services.engine
        ).permissions("clerk")
        assert other.reports[0].name == "my_shop"
    finally:
        other.close()


def test_export_refuses_a_used_folder_and_bad_names(pack_site: Callable[..., Site], tmp_path: Path) -> None:
    site = pack_site(fixture_pack("tinyshop-1.0"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("mine")
    with pytest.raises(ExportRefused):
        export_pack(site.services, tmp_path / "used", name="shop")
    with pytest.raises(RecordInvalid) as caught:
        export_pack(site.services, tmp_path / "new", name="Bad Name", version="1")
    assert {p.path for p in caught.value.problems} == {"pack.json.name", "pack.json.version"}
    assert not (tmp_path / "new").exists()
