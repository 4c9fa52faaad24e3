"""The retail pack installed by the pack installer on an empty site, with its sample org, users and records."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from industry_templates.installer import bundled_packs, validate_pack
from metamodel.records.runtime import SYSTEM
from rule_engine.scheduler.runner import run_due
from rule_engine.tables import inbox
from tests.industry_templates.packsupport import Site, records_of
from tests.industry_templates.retail.retailsupport import PACK_DIR

SAMPLE = json.loads((PACK_DIR / "sample_data" / "records.json").read_text("utf-8"))
ORG = json.loads((PACK_DIR / "sample_data" / "org.json").read_text("utf-8"))


def sample(entity: str) -> list[dict[str, Any]]:
    return list(SAMPLE["records"][entity])


def scan(site: Site, now: dt.datetime) -> Any:
    """Run the scheduler's due scan at ``now``."""
    svc = site.services
    return run_due(svc.engine, svc.metadata.model(), now, svc.rules, svc.hooks)


def test_the_bundled_retail_pack_validates() -> None:
    assert "retail" in bundled_packs()
    assert validate_pack("retail") == []


def test_install_on_an_empty_site_with_sample_data(pack_site: Callable[..., Site]) -> None:
    site = pack_site("retail")
    [report] = site.reports
    assert (report.name, report.version) == ("retail", "1.0.0")
    assert sorted(report.roles) == ["clerk", "hq_marketing", "store_manager"]
    assert (report.units, report.users) == (len(ORG["units"]), len(ORG["users"]))
    assert report.records == sum(len(rows) for rows in SAMPLE["records"].values())

    members = records_of(site, "member")
    orders = records_of(site, "retail_order")
    assert len(members) == len(sample("member")) >= 25
    # Every order of a member earned its points through the order trigger.
    entries = records_of(site, "points_entry")
    with_member = [o for o in orders if o["member"] is not None]
    assert sorted(e["retail_order"] for e in entries) == sorted(o["id"] for o in with_member)
    assert all(
        e["points"] == int(float(o["total"])) for e in entries for o in orders if o["id"] == e["retail_order"]
    )
    # Tiers follow the spend of the last 12 months: some members have risen, the rule holds for each.
    tiers = Counter(m["tier"] for m in members)
    assert tiers["regular"] and tiers["silver"] and tiers["gold"]
    for member in members:
        spent = float(member["spent_12m"])
        expected = "gold" if spent >= 5000 else "silver" if spent >= 1000 else "regular"
        assert member["tier"] == expected, member
    # Coupons belong to the member's clerk, whoever issued them, so the member's store can redeem them.
    owners = {m["id"]: m["owner_id"] for m in members}
    coupons = records_of(site, "coupon")
    assert len(coupons) == len(sample("coupon"))
    assert all(c["owner_id"] == owners[c["member"]] for c in coupons)
    assert {c["status"] for c in coupons} == {"issued"}


def test_sample_data_comes_alive_in_the_first_due_scan(pack_site: Callable[..., Site]) -> None:
    site = pack_site("retail")
    now = site.services.clock()
    report = scan(site, now)
    assert not report.errors, report.errors
    # Points of orders over 12 months old expire; the members' balances keep only the live ones.
    for entry in records_of(site, "points_entry"):
        assert entry["status"] == ("expired" if entry["expires_on"] <= now.date().isoformat() else "active")
    for member in records_of(site, "member"):
        live = sum(
            e["points"]
            for e in records_of(site, "points_entry")
            if e["member"] == member["id"] and e["status"] == "active"
        )
        assert member["points_balance"] == live
    welcome = next(c for c in records_of(site, "coupon") if c["code"] == "WELCOME-0031")
    assert welcome["status"] == "expired"  # its last valid day was five days ago
    campaigns = {c["name"]: c["status"] for c in records_of(site, "campaign")}
    assert campaigns == {"双十一会员日": "running", "春季焕新": "planned"}
    # One member last bought 29 days ago: the repurchase reminder reaches her clerk tomorrow, once.
    assert scan(site, now + dt.timedelta(days=1)).per_rule["repurchase_reminder"]["done"] == 1
    assert scan(site, now + dt.timedelta(days=1, hours=1)).per_rule.get("repurchase_reminder") is None
    with site.services.engine.connect() as conn:
        subjects = [row.subject for row in conn.execute(inbox.select())]
    assert [s for s in subjects if s.startswith("复购提醒")] == ["复购提醒 Repurchase reminder: 李静"]


def test_store_manager_sees_only_her_stores_members_through_the_api(pack_site: Callable[..., Site]) -> None:
    site = pack_site("retail")
    members = records_of(site, "member")
    stores = {s["id"]: s["code"] for s in records_of(site, "store")}
    by_store = Counter(stores[m["home_store"]] for m in members)
    for username, code in (("sh01_manager", "SH01"), ("sh02_manager", "SH02"), ("bj01_manager", "BJ01")):
        listed = site.api(username).ok("GET", "/records/member?limit=200")["items"]
        assert len(listed) == by_store[code]
        assert {stores[m["home_store"]] for m in listed} == {code}
    clerk = site.api("sh01_clerk").ok("GET", "/records/member?limit=200")["items"]
    assert 0 < len(clerk) < by_store["SH01"]
    assert {m["owner_id"] for m in clerk} == {site.user_id("sh01_clerk")}
    everyone = site.api("retail_marketing").ok("GET", "/records/member?limit=200")["items"]
    assert len(everyone) == len(members)
    other = next(m for m in members if stores[m["home_store"]] == "BJ01")
    assert site.api("sh01_manager").get(f"/records/member/{other['id']}").status_code == 404
    refused = site.api("retail_marketing").patch(f"/records/member/{other['id']}", {"notes": "x"})
    assert refused.status_code == 403


def test_every_bundled_pack_installs_on_one_site(pack_site: Callable[..., Site]) -> None:
    names = bundled_packs()
    site = pack_site(*names)
    assert [r.name for r in site.reports] == names
    entities = site.services.metadata.model().entities
    assert {"store", "member", "retail_order", "points_entry", "coupon", "campaign"} <= set(entities)
    assert records_of(site, "member", SYSTEM)


def test_a_clerk_redeems_a_sample_coupon_through_the_api_once(pack_site: Callable[..., Site]) -> None:
    site = pack_site("retail")
    coupon = next(c for c in records_of(site, "coupon") if c["code"] == "D11-0001")
    member = next(m for m in records_of(site, "member") if m["id"] == coupon["member"])
    clerk = site.api("sh01_clerk")
    assert coupon["owner_id"] == member["owner_id"] == site.user_id("sh01_clerk")
    order = clerk.ok(
        "POST",
        "/records/retail_order",
        {
            "member": member["id"],
            "store": member["home_store"],
            "lines": [{"item": "保湿精华液 50ml", "quantity": 1, "unit_price": "368.00"}],
        },
        status=201,
    )
    path = f"/records/coupon/{coupon['id']}/transitions/redeem"
    clerk.ok("POST", path, {"values": {"redeemed_order": order["id"]}})
    paid = clerk.ok("GET", f"/records/retail_order/{order['id']}")
    assert (paid["coupon_discount"], paid["net_amount"]) == ("100.00", "268.00")
    again = clerk.post(path, {"values": {"redeemed_order": order["id"]}})
    assert again.status_code == 409
    assert clerk.ok("GET", f"/records/coupon/{coupon['id']}")["status"] == "redeemed"
    assert site.api("bj01_manager").get(f"/records/coupon/{coupon['id']}").status_code == 404
    # HQ marketing issues a coupon with the fewest fields; it starts issued and goes to the member's clerk.
    issued = site.api("retail_marketing").ok(
        "POST",
        "/records/coupon",
        {
            "code": "VIP-0001",
            "member": member["id"],
            "value": "30.00",
            "valid_until": "2099-12-31",
        },
        status=201,
    )
    got = clerk.ok("GET", f"/records/coupon/{issued['id']}")
    assert (got["status"], got["owner_id"], got["issued_on"]) == (
        "issued",
        member["owner_id"],
        paid["order_date"],
    )
