"""Installing a pack: validation first, then metadata, roles, org, demo users and sample records."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_platform.auth.users import authenticate
from industry_templates.installer import PackConflict, PackInvalid, install_pack, validate_pack
from industry_templates.uninstall import uninstall_pack
from metamodel.access.admin import AccessAdmin
from metamodel.systables import packs, role_permissions, user_roles, users
from tests.industry_templates.packsupport import (
    DEMO_PASSWORD,
    Site,
    copy_pack,
    edit_json,
    fixture_pack,
    records_of,
)

SHOP = fixture_pack("tinyshop-1.0")
LOYALTY = fixture_pack("tinyshop_loyalty")


def test_the_fixture_packs_validate() -> None:
    assert validate_pack(SHOP) == []
    assert validate_pack(fixture_pack("tinyshop-1.1")) == []


def test_validation_names_every_broken_file(tmp_path: Path) -> None:
    pack = copy_pack(SHOP, tmp_path / "broken")
    edit_json(
        pack / "roles" / "clerk.json",
        lambda r: r["permissions"].append({"entity": "member", "operation": "fly"}),
    )
    edit_json(pack / "translations" / "zh-CN.json", lambda t: t.pop("message.welcome"))
    edit_json(
        pack / "metadata" / "entity" / "store.json",
        lambda e: e["fields"].append({"name": "x", "type": "no_such_type"}),
    )
    edit_json(pack / "sample_data" / "records.json", lambda r: r["keys"].update(member="nickname"))
    (pack / "metadata" / "form" / "bad.json").write_text("{not json", "utf-8")
    paths = {p.path for p in validate_pack(pack)}
    assert paths == {
        "roles/clerk.json.permissions[4].operation",
        "translations/zh-CN.json.message.welcome",
        "metadata/form/bad.json",
    }
    # The checks of the metadata as a whole, and of references, run once every file reads well.
    (pack / "metadata" / "form" / "bad.json").unlink()
    edit_json(pack / "roles" / "clerk.json", lambda r: r["permissions"].pop())
    edit_json(pack / "translations" / "zh-CN.json", lambda t: t.update({"message.welcome": "欢迎"}))
    paths = {p.path for p in validate_pack(pack)}
    assert "sample_data/records.json.keys.member" in paths
    assert "entity.store.fields[3].type" in paths
    edit_json(pack / "metadata" / "entity" / "store.json", lambda e: e["fields"].pop())
    assert [(p.path, p.code) for p in validate_pack(pack)] == [
        ("sample_data/records.json.keys.member", "reference")
    ]


def test_a_bad_manifest_is_reported_without_reading_further(tmp_path: Path) -> None:
    pack = copy_pack(SHOP, tmp_path / "bad")
    edit_json(pack / "pack.json", lambda m: m.update(version="1.0", name="Tiny Shop"))
    assert {p.path for p in validate_pack(pack)} == {"pack.json.version", "pack.json.name"}
    assert [p.path for p in validate_pack(tmp_path)] == ["pack.json"]
    assert validate_pack("no_such_pack")[0].code == "not_found"


def test_install_with_sample_data(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    (report,) = site.reports
    assert (report.name, report.version, report.records, report.users, report.units) == (
        "tinyshop",
        "1.0.0",
        6,
        2,
        3,
    )
    assert site.services.metadata.active_version() == report.metadata_version == 1
    stores = {s["code"]: s for s in records_of(site, "store")}
    members = {m["phone"]: m for m in records_of(site, "member")}
    assert members["+8613800000001"]["home_store"] == stores["SH01"]["id"]
    today = dt.datetime.now(dt.UTC).date()
    assert members["+8613800000002"]["joined_on"] == (today - dt.timedelta(days=30)).isoformat()
    assert members["+8613800000001"]["owner_id"] == site.user_id("ts_clerk")
    visits = records_of(site, "visit")
    assert [v["member"] for v in visits] == [members["+8613800000001"]["id"], members["+8613800000002"]["id"]]
    assert str(visits[0]["total"]) in ("61.5", "61.50")  # rules ran: line formulas and the roll-up
    assert members["+8613800000001"]["visits"] == 1
    with site.services.engine.connect() as conn:
        row = conn.execute(select(packs)).mappings().one()
        held = set(conn.execute(select(user_roles.c.role)).scalars())
        scopes = {
            (r.entity, r.operation): r.scope
            for r in conn.execute(select(role_permissions).where(role_permissions.c.role == "store_manager"))
        }
    assert (row["name"], row["version"], row["metadata_version"]) == ("tinyshop", "1.0.0", 1)
    assert set(row["documents"]["metadata"]["entity"]) == {"store", "member", "visit", "visit_line"}
    assert (
        "id" not in row["documents"]["metadata"]["entity"]["member"]
    )  # the pack as shipped, the upgrade base
    assert held == {"store_manager", "clerk"}
    assert scopes[("member", "update")] == "org_unit" and scopes[("visit", "create")] == "all"


def test_demo_users_see_their_part_and_can_sign_in(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    clerk_sees = {m["phone"] for m in records_of(site, "member", site.actor("ts_clerk"))}
    assert clerk_sees == {"+8613800000001"}  # scope own: the one sample member she owns
    assert authenticate(site.services.engine, "ts_clerk", DEMO_PASSWORD) is not None
    assert authenticate(site.services.engine, "ts_clerk", "wrong-password-1") is None


def test_without_sample_data_no_records_users_or_units(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP, sample=False)
    assert records_of(site, "member") == [] and site.reports[0].users == 0
    with site.services.engine.connect() as conn:
        assert conn.execute(select(users.c.username)).scalars().all() == ["admin"]


def test_installing_twice_is_refused(pack_site: Callable[..., Site]) -> None:
    site = pack_site(SHOP)
    with pytest.raises(PackConflict, match="already installed"):
        site.install(SHOP)


def test_a_pack_never_overwrites_the_sites_own_documents(pack_site: Callable[..., Site]) -> None:
    other = pack_site()
    other.services.metadata.put_document(
        "entity", "store", {"name": "store", "fields": [{"name": "x", "type": "text"}]}, "admin"
    )
    with pytest.raises(PackInvalid) as caught:
        other.install(SHOP)
    assert [(p.path, p.code) for p in caught.value.problems] == [("metadata/entity/store.json", "clash")]


def test_dependencies_are_checked_before_anything_is_written(
    pack_site: Callable[..., Site], tmp_path: Path
) -> None:
    site = pack_site()
    with pytest.raises(PackInvalid) as caught:
        site.install(LOYALTY)
    assert [p.path for p in caught.value.problems] == ["pack.json.depends.packs.tinyshop"]
    site.install(SHOP)
    pack = copy_pack(LOYALTY, tmp_path / "loyalty")
    edit_json(
        pack / "pack.json",
        lambda m: m.update(
            platform=">=9.0", depends={"packs": {"tinyshop": ">=1.1"}, "plugins": {"birthday": ">=1.0"}}
        ),
    )
    with pytest.raises(PackInvalid) as caught:
        site.install(pack, plugins_available={"birthday": "0.9"})
    messages = {p.path: p.message for p in caught.value.problems}
    assert set(messages) == {
        "pack.json.platform",
        "pack.json.depends.packs.tinyshop",
        "pack.json.depends.plugins.birthday",
    }
    assert "installed is 1.0.0" in messages["pack.json.depends.packs.tinyshop"]
    assert "installed is 0.9" in messages["pack.json.depends.plugins.birthday"]
    report = install_pack(site.services, LOYALTY, actor=site.admin)
    assert report.metadata_version == 2


def test_packs_sharing_a_role_name_add_to_it(pack_site: Callable[..., Site], tmp_path: Path) -> None:
    site = pack_site(SHOP)
    addon = copy_pack(LOYALTY, tmp_path / "loyalty")
    (addon / "roles").mkdir()
    role = {
        "name": "store_manager",
        "label": {"en": "Manager", "zh-CN": "经理"},
        "permissions": [{"entity": "points", "operation": "read", "scope": "org_subtree"}],
    }
    (addon / "roles" / "store_manager.json").write_text(json.dumps(role), "utf-8")
    site.install(addon)
    admin = AccessAdmin(site.services.engine)
    granted = {(p["entity"], p["operation"]) for p in admin.permissions("store_manager")}
    assert ("points", "read") in granted and ("member", "update") in granted
    assert next(r for r in admin.roles() if r["name"] == "store_manager")["label"]["en"] == "Store manager"
    uninstall_pack(site.services, "tinyshop_loyalty")
    granted = {(p["entity"], p["operation"]) for p in admin.permissions("store_manager")}
    assert ("points", "read") not in granted and ("member", "update") in granted


def test_without_a_site_a_pack_is_checked_on_top_of_the_bundled_packs_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from industry_templates import installer
    from tests.industry_templates.packsupport import bundle_dir

    assert [p.path for p in validate_pack(LOYALTY)] == [
        "pack.json.depends.packs.tinyshop",
        "entity.points.fields[0].target",
    ]
    monkeypatch.setattr(installer, "BUNDLED_DIR", bundle_dir(tmp_path / "bundled", tinyshop=SHOP))
    assert validate_pack(LOYALTY) == []
