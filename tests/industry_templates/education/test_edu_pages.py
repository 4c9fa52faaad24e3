"""The pack's generated pages: every entity's list, form and record page, for the admin and a demo advisor."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.industry_templates.education.edusupport import ENTITIES, EduSite
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
