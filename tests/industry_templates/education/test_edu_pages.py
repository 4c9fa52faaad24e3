"""The pack's generated pages: every entity's list, form and record page, for the admin and a demo advisor."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.industry_templates.education.edusupport import ENTITIES, EduSite, school
from tests.industry_templates.packsupport import ADMIN, ADMIN_PASSWORD, DEMO_PASSWORD


def signed_in(site: EduSite, username: str, password: str) -> FlaskClient:
    client = site.site.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token[1]}
    )
    assert response.status_code == 302, response.text
    return client


def test_every_entity_has_working_pages(edu: Callable[..., EduSite]) -> None:
    site = edu()
    admin = signed_in(site, ADMIN, ADMIN_PASSWORD)
    for entity in ENTITIES:
        first = site.all(entity)[0]
        for url in (
            f"/e/{entity}",
            f"/e/{entity}/new",
            f"/e/{entity}/{first['id']}",
            f"/e/{entity}/{first['id']}/edit",
        ):
            response = admin.get(url)
            assert response.status_code == 200, (url, response.status_code)
    form = admin.get("/e/enrollment/new").text
    assert "购买课时" in form or "Hours paid for" in form


def test_an_advisor_lists_her_own_leads_and_is_refused_others(edu: Callable[..., EduSite]) -> None:
    site = edu()
    li = signed_in(site, "edu_advisor_li", DEMO_PASSWORD)
    page = li.get("/e/edu_lead").text
    leads = {lead["name"]: lead for lead in site.all("edu_lead")}
    assert "张丽" in page and "陈静" not in page  # Li's lead and Wang's lead
    assert li.get(f"/e/edu_lead/{leads['陈静']['id']}").status_code == 404
    assert li.get(f"/e/edu_lead/{leads['张丽']['id']}").status_code == 200


def test_enrolling_into_a_full_class_says_why_on_the_form(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    manager = site.actor("edu_manager_xh")
    found = school(site)
    site.runtime().update("edu_class", found["class"]["id"], {"capacity": 2}, manager)
    student = site.runtime().create(
        "student", {"name": "王小明", "guardian_name": "家长", "guardian_phone": "+8613900000013"}, manager
    )
    before = len(site.all("enrollment"))
    admin = signed_in(site, ADMIN, ADMIN_PASSWORD)
    form = admin.get("/e/enrollment/new?lang=en").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    posted = {
        "csrf_token": token[1],
        "student": str(student["id"]),
        "edu_class": str(found["class"]["id"]),
        "purchased_hours": "40",
    }
    refused = admin.post("/e/enrollment/new?lang=en", data=posted)
    # The class's own rule refuses the third student: the form says so, not only "correct the fields".
    assert refused.status_code == 422
    top = re.search(r'id="form-message">([^<]*)<', refused.text)
    assert top and "The class is full" in top[1], top
    zh = admin.post("/e/enrollment/new?lang=zh-CN", data=posted)
    assert "班级已满员" in zh.text
    assert len(site.all("enrollment")) == before  # nothing written
