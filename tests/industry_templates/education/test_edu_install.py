"""The education pack installs on an empty database with its sample data, and the data is alive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from metamodel.access import AccessDenied
from tests.industry_templates.education.edusupport import ENTITIES, PACK, EduSite, pack_json
from tests.industry_templates.packsupport import fixture_pack


def test_pack_files_agree_with_each_other() -> None:
    manifest = pack_json("pack.json")
    assert (manifest["name"], manifest["version"], manifest["format"]) == ("education", "1.1.0", 1)
    en, zh = pack_json("translations/en.json"), pack_json("translations/zh-CN.json")
    assert sorted(en) == sorted(zh)
    roles = {path.stem for path in (PACK / "roles").glob("*.json")}
    assert roles == {"advisor", "teacher", "campus_manager"}
    assert {f"role.{name}.label" for name in roles} <= set(en)
    users = pack_json("sample_data/org.json")["users"]
    assert {role for user in users for role in user["roles"]} == roles


def test_install_from_empty_database_with_sample_data(edu: Callable[..., EduSite]) -> None:
    site = edu()
    counts = {name: len(site.all(name)) for name in ENTITIES}
    data = pack_json("sample_data/records.json")["records"]
    assert {name: counts[name] for name in data} == {name: len(rows) for name, rows in data.items()}
    # Hours paid minus hours attended (present or late; absences and excused lessons are free).
    low = site.by("enrollment", "contract_no", "HT-2026-002")
    assert (low["attended_hours"], low["remaining_hours"], low["hours_low"]) == ("8.0", "4.0", True)
    python = site.by("enrollment", "contract_no", "HT-2026-004")
    assert (python["attended_hours"], python["remaining_hours"]) == ("4.5", "25.5")  # 3 x 1.5 h, 1 excused
    # The sample history itself raised the pack's rules: one care ticket for three absences in a
    # row (HT-2026-003), one renewal reminder (HT-2026-002); interrupted absences (HT-2026-005) none.
    tickets = sorted((t["reason"], t["enrollment"], t["owner_id"]) for t in site.all("care_ticket"))
    absent = site.by("enrollment", "contract_no", "HT-2026-003")
    wang, li = site.user("edu_advisor_wang"), site.user("edu_advisor_li")
    assert tickets == [
        ("absences", absent["id"], wang),
        ("renewal", low["id"], li),
    ]  # class / student advisor
    assert all(t["status"] == "open" for t in site.all("care_ticket"))
    assert sorted(m["user_id"] for m in site.inbox()) == sorted([wang, li])
    # Relative dates keep the data current: the latest lessons lie within the last week.
    latest = max(a["lesson_on"] for a in site.all("attendance"))
    assert latest == (site.clock().date() - dt.timedelta(days=4)).isoformat()
    classes = {c["code"]: c["enrolled"] for c in site.all("edu_class")}
    assert classes == {"XH-M4-01": 3, "XH-PY-01": 1, "PD-KET-01": 2, "PD-KET-02": 0}
    lead = site.by("edu_lead", "phone", "+8613900000002")
    assert lead["last_contact_at"] == lead["quiet_since"]  # the latest of its two follow-ups
    course = site.by("course", "code", "CODE-PY")
    assert Decimal(course["lesson_hours"]) == Decimal("1.5")


def test_the_sample_site_is_alive_for_its_demo_users(edu: Callable[..., EduSite]) -> None:
    site = edu()
    # The first due scan reminds Li of the lead that came in 80 hours ago and was never contacted.
    assert site.run_due().fired == 1
    reminders = [(f["lead"], f["owner_id"]) for f in site.all("follow_up") if f["kind"] == "reminder"]
    quiet = site.by("edu_lead", "phone", "+8613900000001")
    assert reminders == [(quiet["id"], site.user("edu_advisor_li"))]
    # Each advisor sees her own leads; the teacher her campus's classes and her own register.
    owners = {lead["phone"]: lead["owner_id"] for lead in site.all("edu_lead")}
    for advisor in ("edu_advisor_li", "edu_advisor_wang", "edu_advisor_zhou"):
        mine = sorted(phone for phone, owner in owners.items() if owner == site.user(advisor))
        assert mine and sorted(lead["phone"] for lead in site.all("edu_lead", site.actor(advisor))) == mine
    zhao = site.actor("edu_teacher_zhao")
    assert {c["code"] for c in site.all("edu_class", zhao)} == {"PD-KET-01", "PD-KET-02"}
    assert {a["class_name"] for a in site.all("attendance", zhao)} == {"浦东 KET英语 周三晚班"}
    assert len(site.all("edu_lead", site.actor("edu_director"))) == len(owners)


def test_the_pack_installs_next_to_another_pack(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    report = site.site.install(fixture_pack("tinyshop-1.0"))
    assert report.records > 0
    # Both packs' rules keep working on one site, each advisor still sees only her own leads.
    li = site.actor("edu_advisor_li")
    lead = site.runtime().create("edu_lead", {"name": "张丽", "phone": "+8613900000301"}, li)
    site.clock.advance(hours=72)
    assert site.run_due().fired == 1
    assert [f["lead"] for f in site.all("follow_up")] == [lead["id"]]
    assert [x["id"] for x in site.all("edu_lead", li)] == [lead["id"]]
    with pytest.raises(AccessDenied):
        site.all("edu_lead", site.actor("ts_manager"))  # the other pack's roles grant nothing here
    assert len(site.all("member", site.actor("ts_manager"))) > 0


def test_student_age_is_checked_with_the_birthday_plugin(edu: Callable[..., EduSite]) -> None:
    """The pack needs the bundled birthday plugin: age(birthday) keeps a student between 2 and 60."""
    from industry_templates.installer import validate_pack
    from metamodel.errors import RecordInvalid

    problems = validate_pack(PACK, plugins_available={})
    assert any("birthday" in p.message for p in problems), problems
    site = edu()
    today = site.clock().date()
    guardian = {"guardian_name": "王女士", "guardian_phone": "+8613900009999"}
    with pytest.raises(RecordInvalid) as refused:
        site.runtime().create("student", {"name": "婴儿", "birthday": today.isoformat(), **guardian})
    assert "2" in str(refused.value.problems) and "60" in str(refused.value.problems)
    ten = today.replace(year=today.year - 10, day=min(today.day, 28)).isoformat()
    assert site.runtime().create("student", {"name": "小明", "birthday": ten, **guardian})["name"] == "小明"
