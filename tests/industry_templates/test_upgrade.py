"""Upgrading a pack 1.0 -> 1.1 on a customised site keeps the customisations and reports conflicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from industry_templates.installer import PackConflict
from industry_templates.upgrade import upgrade_pack
from metamodel.access.admin import AccessAdmin
from metamodel.errors import MetadataInvalid
from metamodel.systables import packs
from tests.industry_templates.packsupport import (
    Site,
    copy_pack,
    edit_json,
    fixture_pack,
    records_of,
    site_state,
)

V10, V11 = fixture_pack("tinyshop-1.0"), fixture_pack("tinyshop-1.1")


def _field(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in doc["fields"] if f["name"] == name)


def _customise(site: Site) -> None:
    """The site's own changes after installing 1.0: a field, labels, a default, a rule, a permission scope."""
    meta = site.services.metadata
    member = meta.draft().docs("entity")["member"]
    member["fields"].append({"name": "wechat", "type": "text", "label": {"en": "WeChat", "zh-CN": "微信"}})
    member["label"]["en"] = "Customer"  # the pack changes this spot too: a conflict
    _field(member, "joined_on")["label"]["en"] = "Since"  # and this one
    _field(member, "tier")["default"] = "gold"  # the pack leaves this alone
    member["rules"] = {
        "validations": [
            {
                "condition": "is_empty(wechat) or len(wechat) >= 6",
                "message": {"en": "WeChat id too short", "zh-CN": "微信号太短"},
            }
        ]
    }
    meta.put_document("entity", "member", member, "admin")
    visit = meta.draft().docs("entity")["visit"]
    visit["rules"] = {
        "validations": [
            {"condition": "not is_empty(visited_on)", "message": {"en": "When?", "zh-CN": "何时？"}}
        ]
    }
    meta.put_document("entity", "visit", visit, "admin")
    meta.publish("admin", "site changes")
    AccessAdmin(site.services.engine).grant("store_manager", "member", "read", "all")


def test_upgrade_keeps_customisations_and_reports_conflicts(pack_site: Callable[..., Site]) -> None:
    site = pack_site(V10)
    _customise(site)
    members_before = records_of(site, "member")
    report = upgrade_pack(site.services, V11, actor=site.admin)
    assert (report.from_version, report.to_version, report.dry_run) == ("1.0.0", "1.1.0", False)
    assert sorted(c.path for c in report.conflicts) == [
        "entity.member.fields[joined_on].label.en",
        "entity.member.label.en",
    ]
    conflict = next(c for c in report.conflicts if c.path == "entity.member.label.en")
    assert conflict.as_dict() == {
        "path": "entity.member.label.en",
        "base": "Member",
        "site": "Customer",
        "pack": "Club member",
    }
    bundle = site.services.metadata.model().bundle
    member, store, visit = (bundle.docs("entity")[n] for n in ("member", "store", "visit"))
    # The site's values are kept ...
    assert member["label"] == {"en": "Customer", "zh-CN": "俱乐部会员"}
    assert _field(member, "joined_on")["label"]["en"] == "Since"
    assert _field(member, "tier")["default"] == "gold"
    assert _field(member, "wechat")["type"] == "text"
    assert visit["rules"]["validations"][0]["condition"] == "not is_empty(visited_on)"
    # ... and the pack's changes where the site did not touch the same spot are applied.
    assert [o["value"] for o in _field(member, "tier")["options"]] == ["standard", "gold", "platinum"]
    assert [f["name"] for f in member["fields"]][:3] == ["name", "phone", "birthday"]
    # Both the site's rule and the pack's new rule on member are there.
    assert [v["message"]["en"] for v in member["rules"]["validations"]] == [
        "WeChat id too short",
        "Phone number is too short",
    ]
    assert "city" not in {f["name"] for f in store["fields"]}
    assert "coupon" in bundle.docs("entity")
    assert site.services.metadata.active_version() == report.metadata_version
    # Records are kept, with their ids; the new field is there to use.
    members_after = records_of(site, "member")
    assert [(m["id"], m["phone"], m["tier"]) for m in members_after] == [
        (m["id"], m["phone"], m["tier"]) for m in members_before
    ]
    site.runtime().create("coupon", {"code": "NEW-1", "member": members_after[0]["id"]})
    scopes = {
        (p["entity"], p["operation"]): p["scope"]
        for p in AccessAdmin(site.services.engine).permissions("store_manager")
    }
    assert scopes[("member", "read")] == "all"  # the site's change
    assert (
        scopes[("member", "update")] == "org_subtree" and scopes[("coupon", "create")] == "all"
    )  # the pack's
    with site.services.engine.connect() as conn:
        row = conn.execute(select(packs)).mappings().one()
    assert row["version"] == "1.1.0" and "coupon" in row["documents"]["metadata"]["entity"]


def test_a_dry_run_reports_the_same_and_changes_nothing(pack_site: Callable[..., Site]) -> None:
    site = pack_site(V10)
    _customise(site)
    before = site_state(site)
    preview = upgrade_pack(site.services, V11, dry_run=True, actor=site.admin)
    assert site_state(site) == before
    assert preview.dry_run and preview.metadata_version == before["active"] + 1
    assert "created table rec_coupon" in preview.changes
    real = upgrade_pack(site.services, V11, actor=site.admin)
    assert [c.as_dict() for c in real.conflicts] == [c.as_dict() for c in preview.conflicts]
    assert real.changes == preview.changes


def test_an_untouched_site_takes_the_new_version_whole(pack_site: Callable[..., Site]) -> None:
    site = pack_site(V10)
    report = upgrade_pack(site.services, V11, actor=site.admin)
    assert report.conflicts == []
    bundle = site.services.metadata.model().bundle
    assert bundle.docs("entity")["member"]["label"]["en"] == "Club member"


def test_a_field_the_site_changed_and_the_pack_removed_is_kept_as_a_conflict(
    pack_site: Callable[..., Site],
) -> None:
    site = pack_site(V10)
    store = site.services.metadata.draft().docs("entity")["store"]
    _field(store, "city")["label"]["en"] = "Town"
    site.services.metadata.put_document("entity", "store", store, "admin")
    site.services.metadata.publish("admin")
    report = upgrade_pack(site.services, V11, actor=site.admin)
    assert [(c.path, c.as_dict()["pack"]) for c in report.conflicts] == [("entity.store.fields[city]", None)]
    assert "city" in {
        f["name"] for f in site.services.metadata.model().bundle.docs("entity")["store"]["fields"]
    }


def test_same_or_older_versions_and_missing_packs_are_refused(pack_site: Callable[..., Site]) -> None:
    site = pack_site(V10)
    with pytest.raises(PackConflict, match="already installed"):
        upgrade_pack(site.services, V10)
    upgrade_pack(site.services, V11)
    with pytest.raises(PackConflict, match="older"):
        upgrade_pack(site.services, V10)


def test_a_failing_upgrade_leaves_the_site_as_it_was(pack_site: Callable[..., Site], tmp_path: Path) -> None:
    site = pack_site(V10)
    _customise(site)
    broken = copy_pack(V11, tmp_path / "broken")
    edit_json(
        broken / "metadata" / "entity" / "coupon.json",
        lambda e: e["fields"].append({"name": "half", "type": "currency", "rules": {"formula": "value / "}}),
    )
    before = site_state(site)
    with pytest.raises(MetadataInvalid) as caught:
        upgrade_pack(site.services, broken)
    assert "entity.coupon.fields[4].rules.formula" in {p.path for p in caught.value.problems}
    assert site_state(site) == before
