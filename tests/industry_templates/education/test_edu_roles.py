"""The pack's roles: advisors see their own leads and students, managers their campus, teachers their register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from metamodel.access import AccessDenied
from metamodel.errors import NotFound
from tests.industry_templates.education.edusupport import EduSite, school, take


def test_an_advisor_sees_only_her_own_leads(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    runtime = site.runtime()
    owned = {}
    for n, name in enumerate(("edu_advisor_li", "edu_advisor_wang", "edu_advisor_zhou")):
        owned[name] = runtime.create(
            "edu_lead", {"name": f"家长{n}", "phone": f"+86139000002{n:02d}"}, site.actor(name)
        )["id"]

    def visible(username: str) -> list[int]:
        return sorted(lead["id"] for lead in site.all("edu_lead", site.actor(username)))

    assert visible("edu_advisor_li") == [owned["edu_advisor_li"]]
    assert visible("edu_advisor_zhou") == [owned["edu_advisor_zhou"]]
    with pytest.raises(NotFound):
        runtime.get("edu_lead", owned["edu_advisor_wang"], site.actor("edu_advisor_li"))
    with pytest.raises(NotFound):
        runtime.update(
            "edu_lead", owned["edu_advisor_wang"], {"status": "lost"}, site.actor("edu_advisor_li")
        )
    # The Xuhui manager sees her campus's advisors' leads; the director at HQ sees every campus.
    assert visible("edu_manager_xh") == sorted([owned["edu_advisor_li"], owned["edu_advisor_wang"]])
    assert visible("edu_director") == sorted(owned.values())
    with pytest.raises(AccessDenied):
        visible("edu_teacher_chen")  # teachers do not work leads


def test_teachers_keep_the_register_of_their_campus_classes(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    made = school(site)
    sun = made["enrollments"]["孙嘉怡"]
    mine = take(site, sun, "P", dt.date(2026, 1, 3))
    chen, zhao = site.actor("edu_teacher_chen"), site.actor("edu_teacher_zhao")
    assert [c["id"] for c in site.all("edu_class", chen)] == [made["class"]["id"]]
    assert site.all("edu_class", zhao) == []  # another campus
    assert [a["id"] for a in site.all("attendance", chen)] == mine
    assert site.all("attendance", zhao) == []
    with pytest.raises(AccessDenied):
        site.runtime().update("enrollment", sun["id"], {"purchased_hours": "100"}, chen)
    # Advisors read their campus's classes and registers but enrol only as owners of the enrolment.
    assert [a["id"] for a in site.all("attendance", site.actor("edu_advisor_wang"))] == mine
    assert site.all("enrollment", site.actor("edu_advisor_wang")) == []
