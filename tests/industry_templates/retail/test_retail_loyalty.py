"""Retail scenarios on a real database with a fixed clock: tiers, points, reminders, birthdays."""

from __future__ import annotations

import datetime as dt

import pytest

from metamodel.errors import RecordInvalid
from metamodel.records.hooks import Actor
from rule_engine.workflow.errors import TransitionForbidden
from tests.industry_templates.retail.retailsupport import NOW, RetailSite, retail_site, workflow_of


def next_night(site: RetailSite) -> dt.datetime:
    """Return the next 02:30 Shanghai time (18:30 UTC) after the clock."""
    now = site.clock()
    slot = now.replace(hour=18, minute=30, second=0, microsecond=0)
    return slot if slot > now else slot + dt.timedelta(days=1)


def test_member_tier_rises_with_twelve_month_spend_and_falls_a_year_later(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    ann = site.member("王芳", "+8613800000001", shop)
    bob = site.member("李静", "+8613800000002", shop)
    assert site.get("member", ann)["tier"] == "regular"

    site.order(ann, shop, "600.00", on=site.today(-200))
    assert (site.get("member", ann)["tier"], site.get("member", ann)["spent_12m"]) == ("regular", "600.00")
    site.order(ann, shop, "450.00")  # crosses 1,000 within 12 months
    assert (site.get("member", ann)["tier"], site.get("member", ann)["spent_12m"]) == ("silver", "1050.00")
    site.order(ann, shop, "4000.00", on=site.today(-10))
    assert site.get("member", ann)["tier"] == "gold"
    site.order(bob, shop, "999.99")
    assert site.get("member", bob)["tier"] == "regular"  # just below the threshold

    # Nothing is bought any more.  Each night re-tiers the members from the last 12 months only.
    site.advance_to(NOW + dt.timedelta(days=165))  # the order of 200 days ago is 365 days old
    site.advance_to(next_night(site))
    site.run_due()
    assert site.get("member", ann)["tier"] == "gold"
    site.advance_to(NOW + dt.timedelta(days=356))  # the 4,000 order leaves the window on day 355
    site.advance_to(next_night(site))
    site.run_due()
    got = site.get("member", ann)
    assert (got["tier"], got["spent_12m"]) == ("regular", "450.00")  # lowered two tiers at once
    site.advance_to(NOW + dt.timedelta(days=366))
    site.advance_to(next_night(site))
    site.run_due()
    assert [site.get("member", m)["spent_12m"] for m in (ann, bob)] == ["0.00", "0.00"]
    assert [site.get("member", m)["tier"] for m in (ann, bob)] == ["regular", "regular"]


def test_an_order_earns_points_that_expire_after_twelve_months_with_a_reminder_before(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    clerk = site.user("sh01_clerk", roles=("clerk",))
    ann = site.member("王芳", "+8613800000001", shop, clerk)
    order = site.order(ann, shop, "268.80", actor=clerk)
    entries = site.world.rows(site.world.metadata.model().entity("points_entry").table)
    assert [(e["member"], e["retail_order"], e["kind"], e["points"], e["status"]) for e in entries] == [
        (ann, order["id"], "earned", 268, "active")
    ]
    entry = entries[0]
    assert (str(entry["earned_on"]), str(entry["expires_on"])) == ("2026-03-02", "2027-03-02")
    assert entry["owner_id"] == clerk.user_id  # the clerk who rang the order up is reminded
    site.order(None, shop, "99.00")  # a walk-in customer earns nothing
    assert site.world.count("points_entry") == 1
    assert site.get("member", ann)["points_balance"] == 268

    expiry = dt.datetime(2027, 3, 2, tzinfo=dt.UTC)
    site.advance_to(expiry - dt.timedelta(days=30, minutes=1))
    site.run_due()
    assert site.inbox() == []
    site.advance_to(expiry - dt.timedelta(days=30))
    site.run_due()
    [reminder] = site.inbox("sh01_clerk")
    assert "王芳" in reminder["subject"] and "268" in reminder["subject"]
    assert "2027-03-02" in reminder["body"]
    assert site.get("points_entry", entry["id"])["status"] == "active"

    site.advance_to(expiry - dt.timedelta(minutes=1))
    site.run_due()
    assert site.get("member", ann)["points_balance"] == 268
    site.advance_to(expiry)
    site.run_due()
    assert site.get("points_entry", entry["id"])["status"] == "expired"
    assert site.get("member", ann)["points_balance"] == 0
    site.advance_to(expiry + dt.timedelta(days=3))
    assert set(site.run_due().per_rule) <= {"member_tier_daily"}  # nothing more about these points
    assert len(site.inbox()) == 1  # one reminder only


def test_a_refund_takes_the_points_back_and_only_a_store_manager_may_refund(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    site.unit("store_sh01")
    clerk = site.user("clerk", unit="store_sh01", roles=("clerk",))
    manager = site.user("manager", unit="store_sh01", roles=("store_manager",))
    ann = site.member("王芳", "+8613800000001", shop, clerk)
    order = site.order(ann, shop, "1200.00", actor=clerk)
    assert site.get("member", ann)["tier"] == "silver"
    workflow = workflow_of(site)
    with pytest.raises(TransitionForbidden, match="store_manager"):
        workflow.transition(site.runtime(), "retail_order", order["id"], "refund", actor=clerk)
    assert site.get("member", ann)["points_balance"] == 1200
    workflow.transition(site.runtime(), "retail_order", order["id"], "refund", actor=manager)
    got = site.get("member", ann)
    assert (got["points_balance"], got["spent_12m"], got["tier"]) == (0, "0.00", "regular")
    kinds = sorted(
        (e["kind"], e["points"])
        for e in site.world.rows(site.world.metadata.model().entity("points_entry").table)
    )
    assert kinds == [("earned", 1200), ("reversed", -1200)]


def test_repurchase_reminder_fires_once_thirty_days_after_the_last_order(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    clerk = site.user("sh01_clerk", roles=("clerk",))
    ann = site.member("王芳", "+8613800000001", shop, clerk)
    bob = site.member("李静", "+8613800000002", shop, clerk)
    site.member("没买过", "+8613800000003", shop, clerk)  # never bought: no reminder
    walk_in = site.member("导入会员", "+8613800000004", shop)  # imported, no clerk: nobody to remind
    site.order(walk_in, shop, "100.00", on=site.today(-1))
    site.order(ann, shop, "100.00", on=site.today(-1))
    site.order(bob, shop, "100.00", on=site.today(-1))
    site.advance_to(NOW + dt.timedelta(days=10))
    site.order(bob, shop, "80.00")  # Bob came back: his reminder moves 10 days on
    assert site.get("member", bob)["last_order_on"] == "2026-03-12"

    site.advance_to(dt.datetime(2026, 3, 30, 23, 59, tzinfo=dt.UTC))
    assert site.fired("repurchase_reminder") == 0
    site.advance_to(dt.datetime(2026, 3, 31, tzinfo=dt.UTC))  # 30 days after 2026-03-01
    assert site.fired("repurchase_reminder") == 1
    [message] = site.inbox("sh01_clerk")
    assert "王芳" in message["subject"] and "2026-03-01" in message["body"]
    site.advance_to(dt.datetime(2026, 4, 10, 23, 59, tzinfo=dt.UTC))
    assert site.fired("repurchase_reminder") == 0
    site.advance_to(dt.datetime(2026, 4, 11, tzinfo=dt.UTC))
    assert site.fired("repurchase_reminder") == 1  # Bob's, 30 days after 2026-03-12
    assert site.fired("repurchase_reminder") == 0
    assert sorted(m["subject"].split()[-1] for m in site.inbox()) == ["李静", "王芳"]  # each once
    site.advance_to(dt.datetime(2026, 5, 30, tzinfo=dt.UTC))
    assert site.fired("repurchase_reminder") == 0
    assert len(site.inbox()) == 2


def birthdays(site: RetailSite) -> tuple[int, int]:
    """Run the due scan; return how many birthday coupons and greetings it sent (no firing may fail)."""
    report = site.run_due()
    assert set(report.outcomes) <= {"done"}, report.outcomes
    coupons, greetings = (report.per_rule.get(rule) for rule in ("birthday_coupon", "birthday_greeting"))
    return (coupons["done"] if coupons else 0), (greetings["done"] if greetings else 0)


def test_birthday_brings_a_coupon_and_a_greeting_once_a_year(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    clerk = site.user("sh01_clerk", roles=("clerk",))
    ann = site.member("王芳", "+8613800000001", shop, clerk, birthday="1990-03-03")
    site.member("李静", "+8613800000002", shop, clerk, birthday="1985-07-01")
    site.member("无生日", "+8613800000003", shop, clerk)
    imported = site.member("导入会员", "+8613800000004", shop, birthday="1977-03-03")  # no clerk: no greeting
    site.advance_to(NOW + dt.timedelta(minutes=1))
    assert birthdays(site) == (0, 0)  # the 09:00 slot of 2 March: nobody's birthday
    site.advance_to(dt.datetime(2026, 3, 3, 0, 59, tzinfo=dt.UTC))  # 08:59 in Shanghai
    assert birthdays(site) == (0, 0)
    site.advance_to(dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC))
    assert birthdays(site) == (2, 1)
    coupons = site.world.rows(site.world.metadata.model().entity("coupon").table)
    assert [(c["member"], c["code"], str(c["value"]), c["status"]) for c in coupons] == [
        (ann, f"BD2026-{ann}", "50.00", "issued"),
        (imported, f"BD2026-{imported}", "50.00", "issued"),
    ]
    assert str(coupons[0]["valid_until"]) == "2026-04-02"
    assert coupons[0]["owner_id"] == clerk.user_id
    [greeting] = site.inbox("sh01_clerk")
    assert "王芳" in greeting["subject"]
    assert site.get("member", ann)["birthday_coupon_year"] == 2026
    site.advance_to(dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC))  # still 3 March in UTC
    assert birthdays(site) == (0, 0)
    site.advance_to(dt.datetime(2026, 3, 4, 1, 0, tzinfo=dt.UTC))
    assert birthdays(site) == (0, 0)
    site.advance_to(dt.datetime(2027, 3, 3, 1, 0, tzinfo=dt.UTC))  # a year later: the next coupons
    assert birthdays(site) == (2, 1)
    assert site.world.count("coupon") == 4
    assert site.get("member", ann)["birthday_coupon_year"] == 2027


def test_member_rules_refuse_bad_input(db_url: str) -> None:
    site = retail_site(db_url)
    shop = site.store("SH01", "上海南京路店")
    site.member("王芳", "+8613800000001", shop)
    for values, field in (
        ({"name": "重复", "phone": "+8613800000001", "home_store": shop}, "phone"),
        (
            {"name": "未来", "phone": "+8613800000009", "home_store": shop, "birthday": "2030-01-01"},
            "birthday",
        ),
        ({"name": "无店", "phone": "+8613800000008"}, "home_store"),
    ):
        with pytest.raises(RecordInvalid) as refused:
            site.runtime().create("member", values, Actor())
        assert field in [p.path for p in refused.value.problems]
    assert site.world.count("member") == 1
