"""Upgrading the retail pack 1.0.0 -> 1.1.0 on a site that customised it keeps the site's changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from industry_templates.upgrade import upgrade_pack
from metamodel.access.admin import AccessAdmin
from metamodel.systables import packs
from rule_engine.scheduler.runner import run_due
from rule_engine.tables import inbox
from tests.industry_templates.packsupport import Site, copy_pack, edit_json, records_of
from tests.industry_templates.retail.retailsupport import PACK_DIR


def field_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in doc["fields"] if f["name"] == name)


def retail_1_1(folder: Path) -> Path:
    """Write the retail pack 1.1.0: the shipped 1.0.0 plus what a next release would change.

    A new member field (preferred channel), a relabelled member entity, the points reminder two weeks
    instead of 30 days before expiry, and store managers may export coupons.
    """
    pack = copy_pack(PACK_DIR, folder / "retail-1.1.0")
    edit_json(pack / "pack.json", lambda m: m.update(version="1.1.0"))

    def member(doc: dict[str, Any]) -> None:
        doc["label"]["en"] = "Loyalty member"
        doc["fields"].insert(
            4,
            {
                "name": "preferred_channel",
                "type": "select",
                "label": {"en": "Preferred channel", "zh-CN": "偏好渠道"},
                "options": [
                    {"value": "store", "label": {"en": "In store", "zh-CN": "门店"}},
                    {"value": "online", "label": {"en": "Online shop", "zh-CN": "线上商城"}},
                ],
            },
        )

    edit_json(pack / "metadata" / "entity" / "member.json", member)
    edit_json(
        pack / "metadata" / "trigger" / "points_expiry_reminder.json",
        lambda t: t["schedule"].update(offset_hours=-14 * 24),
    )
    edit_json(
        pack / "roles" / "store_manager.json",
        lambda r: r["permissions"].append({"entity": "coupon", "operation": "export", "scope": "org_unit"}),
    )
    return pack


def customise(site: Site) -> None:
    """The site's own changes after installing 1.0.0: a field of its own, a label, a wider scope."""
    meta = site.services.metadata
    member = meta.draft().docs("entity")["member"]
    member["fields"].append(
        {"name": "wechat_id", "type": "text", "label": {"en": "WeChat ID", "zh-CN": "微信号"}}
    )
    field_of(member, "home_store")["label"]["zh-CN"] = "开卡门店"
    meta.put_document("entity", "member", member, "admin")
    meta.publish("admin", "site changes")
    AccessAdmin(site.services.engine).grant("clerk", "member", "read", "org_unit")


def test_upgrade_keeps_the_sites_field_and_label_and_applies_the_new_release(
    pack_site: Callable[..., Site], tmp_path: Path
) -> None:
    site = pack_site("retail")
    customise(site)
    members = records_of(site, "member")
    ann = members[0]
    site.runtime().update("member", ann["id"], {"wechat_id": "wf_0001"}, site.admin)
    before = [(m["id"], m["phone"], m["tier"], m["points_balance"]) for m in records_of(site, "member")]

    report = upgrade_pack(site.services, retail_1_1(tmp_path), actor=site.admin)
    assert (report.from_version, report.to_version, report.conflicts) == ("1.0.0", "1.1.0", [])

    bundle = site.services.metadata.model().bundle
    member = bundle.docs("entity")["member"]
    assert field_of(member, "wechat_id")["label"] == {
        "en": "WeChat ID",
        "zh-CN": "微信号",
    }  # the site's field
    assert field_of(member, "home_store")["label"] == {
        "en": "Home store",
        "zh-CN": "开卡门店",
    }  # the site's label
    assert member["label"] == {"en": "Loyalty member", "zh-CN": "会员"}  # the release's label
    assert field_of(member, "preferred_channel")["type"] == "select"  # the release's field
    assert bundle.docs("trigger")["points_expiry_reminder"]["schedule"]["offset_hours"] == -336
    access = AccessAdmin(site.services.engine)
    clerk = {(p["entity"], p["operation"]): p["scope"] for p in access.permissions("clerk")}
    manager = {(p["entity"], p["operation"]): p["scope"] for p in access.permissions("store_manager")}
    assert clerk[("member", "read")] == "org_unit" and manager[("coupon", "export")] == "org_unit"
    with site.services.engine.connect() as conn:
        assert conn.execute(select(packs.c.version).where(packs.c.name == "retail")).scalar_one() == "1.1.0"

    # The records and the site's data in its own field are kept; the new field is there to use.
    assert [
        (m["id"], m["phone"], m["tier"], m["points_balance"]) for m in records_of(site, "member")
    ] == before
    assert site.runtime().get("member", ann["id"])["wechat_id"] == "wf_0001"
    site.runtime().update("member", ann["id"], {"preferred_channel": "online"}, site.admin)

    # The rules run on the new version: an order earns points, reminded two weeks before they expire.
    store = records_of(site, "store")[0]
    order = site.runtime().create(
        "retail_order",
        {
            "member": ann["id"],
            "store": store["id"],
            "owner_id": site.user_id("sh01_clerk"),
            "lines": [{"item": "丝巾", "quantity": 1, "unit_price": "459.00"}],
        },
        site.admin,
    )
    [entry] = [e for e in records_of(site, "points_entry") if e["retail_order"] == order["id"]]
    assert entry["points"] == 459
    expires = dt.datetime.fromisoformat(entry["expires_on"]).replace(tzinfo=dt.UTC)
    svc = site.services

    def reminders(now: dt.datetime) -> int:
        report = run_due(svc.engine, svc.metadata.model(), now, svc.rules, svc.hooks)
        found = report.per_rule.get("points_expiry_reminder")
        return int(found["done"]) if found else 0

    reminders(expires - dt.timedelta(days=30))  # when 1.0.0 reminded
    with svc.engine.connect() as conn:
        seen = {
            row.record_id
            for row in conn.execute(select(inbox).where(inbox.c.rule == "points_expiry_reminder"))
        }
    assert entry["id"] not in seen  # not 30 days before any more
    assert reminders(expires - dt.timedelta(days=14)) >= 1
    with svc.engine.connect() as conn:
        seen = {
            row.record_id
            for row in conn.execute(select(inbox).where(inbox.c.rule == "points_expiry_reminder"))
        }
    assert entry["id"] in seen
