"""Retail scenarios: coupons issued, redeemed on an order, refused twice, expired; store scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from metamodel.access import AccessDenied
from metamodel.errors import NotFound, RecordInvalid
from metamodel.records.hooks import Actor
from rule_engine.workflow.errors import TransitionRefused
from tests.industry_templates.retail.retailsupport import NOW, RetailSite, retail_site, workflow_of


def issue(site: RetailSite, code: str, member: int, value: str = "100.00", **values: Any) -> dict[str, Any]:
    """Issue a coupon as HQ marketing would (the system actor here)."""
    return site.runtime().create(
        "coupon",
        {"code": code, "member": member, "value": value, "valid_until": site.today(10), **values},
        Actor(),
    )


def redeem(site: RetailSite, coupon: int, order: int, actor: Actor) -> Any:
    return workflow_of(site).transition(
        site.runtime(), "coupon", coupon, "redeem", actor=actor, values={"redeemed_order": order}
    )


def messages(error: RecordInvalid) -> str:
    return " ".join(f"{p.path}: {p.message}" for p in error.problems)


@pytest.fixture
def site(db_url: str) -> RetailSite:
    """Two stores of one region, their staff, and HQ marketing."""
    site = retail_site(db_url)
    site.unit("retail_hq")
    site.unit("retail_east", "retail_hq")
    site.unit("store_sh01", "retail_east")
    site.unit("store_sh02", "retail_east")
    site.user("sh01_manager", unit="store_sh01", roles=("store_manager",))
    site.user("sh01_clerk", unit="store_sh01", roles=("clerk",))
    site.user("sh01_clerk2", unit="store_sh01", roles=("clerk",))
    site.user("sh02_manager", unit="store_sh02", roles=("store_manager",))
    site.user("marketing", unit="retail_hq", roles=("hq_marketing",))
    return site


def test_coupon_is_redeemed_on_an_order_once_and_a_second_redemption_is_refused(site: RetailSite) -> None:
    shop = site.store("SH01", "上海南京路店")
    clerk = site.actor_of("sh01_clerk")
    ann = site.member("王芳", "+8613800000001", shop, clerk)
    bob = site.member("李静", "+8613800000002", shop, clerk)
    coupon = issue(site, "D11-0001", ann, min_spend="300.00")
    assert (coupon["status"], coupon["owner_id"]) == ("issued", clerk.user_id)  # follows the member's clerk
    small = site.order(ann, shop, "200.00", actor=clerk)
    with pytest.raises(RecordInvalid) as refused:
        redeem(site, coupon["id"], small["id"], clerk)
    assert "minimum spend" in messages(refused.value)
    bobs = site.order(bob, shop, "500.00", actor=clerk)
    with pytest.raises(RecordInvalid) as refused:
        redeem(site, coupon["id"], bobs["id"], clerk)
    assert "its own member" in messages(refused.value)
    with pytest.raises(RecordInvalid) as fixed:
        site.runtime().update(
            "coupon", coupon["id"], {"value": "500.00"}, clerk
        )  # terms are fixed once issued
    assert [p.path for p in fixed.value.problems] == ["value"]
    got = site.get("coupon", coupon["id"])
    assert (got["status"], got["redeemed_order"], got["value"]) == ("issued", None, "100.00")

    order = site.order(ann, shop, "368.00", actor=clerk)
    redeem(site, coupon["id"], order["id"], clerk)
    got = site.get("coupon", coupon["id"])
    assert (got["status"], got["redeemed_order"], got["redeemed_on"]) == (
        "redeemed",
        order["id"],
        "2026-03-02",
    )
    paid = site.get("retail_order", order["id"])
    assert (paid["total"], paid["coupon_discount"], paid["net_amount"]) == ("368.00", "100.00", "268.00")

    other = site.order(ann, shop, "999.00", actor=clerk)
    with pytest.raises(TransitionRefused):
        redeem(site, coupon["id"], other["id"], clerk)  # the same coupon again
    assert site.get("retail_order", other["id"])["coupon_discount"] == "0.00"
    second = issue(site, "D11-0002", ann)
    with pytest.raises(RecordInvalid) as refused:
        redeem(site, second["id"], order["id"], clerk)  # one coupon per order
    assert [p.path for p in refused.value.problems] == ["redeemed_order"]
    assert site.get("coupon", second["id"])["status"] == "issued"
    assert site.get("retail_order", order["id"])["net_amount"] == "268.00"


def test_unused_coupons_expire_after_their_last_day_and_count_in_their_campaign(site: RetailSite) -> None:
    shop = site.store("SH01", "上海南京路店")
    ann = site.member("王芳", "+8613800000001", shop, site.actor_of("sh01_clerk"))
    campaign = site.runtime().create(
        "campaign", {"name": "双十一会员日", "starts_on": site.today(1), "ends_on": site.today(10)}, Actor()
    )
    used = issue(site, "D11-0001", ann, campaign=campaign["id"])
    unused = issue(site, "D11-0002", ann, campaign=campaign["id"])
    order = site.order(ann, shop, "500.00")
    redeem(site, used["id"], order["id"], Actor())
    got = site.get("campaign", campaign["id"])
    assert (got["status"], got["coupons_issued"], got["coupons_redeemed"], got["redeemed_value"]) == (
        "planned",
        2,
        1,
        "100.00",
    )
    site.advance_to(NOW + dt.timedelta(days=1))  # 09:00 in Shanghai on the first day
    site.run_due()
    assert site.get("campaign", campaign["id"])["status"] == "running"
    site.advance_to(dt.datetime(2026, 3, 12, 23, 59, tzinfo=dt.UTC))  # the coupons' last valid day
    site.run_due()
    assert site.get("coupon", unused["id"])["status"] == "issued"
    site.advance_to(dt.datetime(2026, 3, 13, tzinfo=dt.UTC))
    site.run_due()
    assert [site.get("coupon", c["id"])["status"] for c in (used, unused)] == ["redeemed", "expired"]
    assert site.get("campaign", campaign["id"])["status"] == "ended"


def test_store_manager_sees_only_her_stores_members_and_a_clerk_only_her_own(site: RetailSite) -> None:
    sh01 = site.store("SH01", "上海南京路店")
    sh02 = site.store("SH02", "上海徐家汇店")
    clerk, clerk2 = site.actor_of("sh01_clerk"), site.actor_of("sh01_clerk2")
    manager, other_manager = site.actor_of("sh01_manager"), site.actor_of("sh02_manager")
    marketing = site.actor_of("marketing")
    ann = site.member("王芳", "+8613800000001", sh01, clerk)
    site.member("李静", "+8613800000002", sh01, clerk2)
    site.member("张伟", "+8613800000003", sh01, manager)
    cy = site.member("陈杰", "+8613800000004", sh02, other_manager)
    site.order(ann, sh01, "120.00", actor=clerk)
    site.order(cy, sh02, "80.00", actor=other_manager)

    assert site.names("member", manager) == ["王芳", "李静", "张伟"]
    assert site.names("member", other_manager) == ["陈杰"]
    assert site.names("member", clerk) == ["王芳"]
    assert site.names("member", marketing) == ["王芳", "李静", "张伟", "陈杰"]
    assert len(site.names("retail_order", manager, "member")) == 1
    assert site.names("points_entry", other_manager, "member_name") == ["陈杰"]
    assert site.names("store", clerk) == ["上海南京路店", "上海徐家汇店"]
    with pytest.raises(NotFound):
        site.runtime().get("member", cy, manager)
    with pytest.raises(NotFound):
        site.runtime().update("member", cy, {"notes": "不是本店会员"}, manager)
    site.runtime().update("member", ann, {"notes": "喜欢围巾"}, manager)
    with pytest.raises(AccessDenied):
        site.runtime().update("member", ann, {"notes": "市场部改的"}, marketing)  # HQ reads, stores edit
    with pytest.raises(AccessDenied):
        site.runtime().create(
            "campaign", {"name": "店内活动", "starts_on": site.today(), "ends_on": site.today(1)}, manager
        )
    site.runtime().create(
        "campaign", {"name": "全国活动", "starts_on": site.today(), "ends_on": site.today(1)}, marketing
    )
    assert site.get("member", ann)["notes"] == "喜欢围巾"
