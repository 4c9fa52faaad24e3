"""72 hours without contact raise one reminder for the lead's advisor; a contact in time moves the deadline."""

from __future__ import annotations

from collections.abc import Callable

from tests.industry_templates.education.edusupport import EduSite


def test_a_lead_without_contact_for_72_hours_raises_one_reminder(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    li = site.actor("edu_advisor_li")
    runtime = site.runtime()
    quiet = runtime.create("edu_lead", {"name": "张丽", "phone": "+8613900000101", "status": "new"}, li)
    won = runtime.create("edu_lead", {"name": "刘强", "phone": "+8613900000102", "status": "new"}, li)
    called = runtime.create("edu_lead", {"name": "陈静", "phone": "+8613900000103", "status": "new"}, li)
    assert quiet["owner_id"] == site.user("edu_advisor_li")

    site.clock.advance(hours=48)
    runtime.create(
        "follow_up",
        {"lead": won["id"], "subject": "电话沟通", "kind": "call", "contacted_at": site.clock().isoformat()},
        li,
    )
    site.clock.advance(hours=22)  # 70 h: contacted just in time
    runtime.create(
        "follow_up",
        {
            "lead": called["id"],
            "subject": "微信沟通",
            "kind": "wechat",
            "contacted_at": site.clock().isoformat(),
        },
        li,
    )
    site.clock.advance(hours=1, minutes=59)
    assert site.run_due().fired == 0  # 71:59 without contact: not yet
    site.clock.advance(minutes=1)
    assert site.run_due().fired == 1

    reminders = [f for f in site.all("follow_up") if f["kind"] == "reminder"]
    assert [(r["lead"], r["owner_id"], r["contacted_at"]) for r in reminders] == [
        (quiet["id"], site.user("edu_advisor_li"), None)
    ]
    messages = site.inbox()
    assert [(m["user_id"], m["record_id"]) for m in messages] == [(site.user("edu_advisor_li"), quiet["id"])]
    assert "张丽" in messages[0]["subject"] and "72" in messages[0]["subject"]
    assert site.runtime().get("edu_lead", quiet["id"])["last_contact_at"] is None  # a reminder is no contact

    runtime.update("edu_lead", won["id"], {"status": "won"}, li)
    site.clock.advance(days=3)  # 144 h: the won lead's deadline (120 h) passed, the other's came
    assert site.run_due().fired == 1
    reminders = [f["lead"] for f in site.all("follow_up") if f["kind"] == "reminder"]
    assert reminders == [quiet["id"], called["id"]]  # the quiet lead is reminded once, the won one never
    site.clock.advance(days=3)
    assert site.run_due().fired == 0


def test_an_unassigned_quiet_lead_goes_to_the_campus_managers(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    lead = site.runtime().create("edu_lead", {"name": "黄伟", "phone": "+8613900000104"})
    assert lead["owner_id"] is None
    site.clock.advance(hours=72)
    assert site.run_due().fired == 1
    managers = sorted(site.user(name) for name in ("edu_director", "edu_manager_xh"))
    assert sorted(m["user_id"] for m in site.inbox()) == managers
    assert not [f for f in site.all("follow_up") if f["kind"] == "reminder"]
