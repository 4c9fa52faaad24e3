"""The calendar page: records on a month or week grid by a date field, the switcher, and moving a record
to another day (a datetime keeps its time of day; a stale version is refused)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.boardsupport import publish_deals
from tests.platform.pages.conftest import csrf_of


def entries(html: str) -> list[tuple[str, str]]:
    """(day, title) of every entry, in page order."""
    found = []
    for day, body in re.findall(r'data-day="([0-9-]+)"[^>]*>(.*?)</ul>', html, re.S):
        found += [(day, title) for title in re.findall(r'<a href="[^"]+">([^<]+)</a>', body)]
    return found


def test_month_and_week_show_records_on_their_days(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    runtime = svc.runtime()
    runtime.create("deal", {"title": "Early", "close_on": "2026-12-01"})
    runtime.create("deal", {"title": "Late", "close_on": "2026-12-31"})
    runtime.create("deal", {"title": "Next year", "close_on": "2027-01-02"})  # shown in December's last week
    runtime.create("deal", {"title": "Undated"})
    html = client.get("/e/deal/calendar?start=2026-12-15&lang=en").text
    assert "December 2026" in html
    assert entries(html) == [("2026-12-01", "Early"), ("2026-12-31", "Late"), ("2027-01-02", "Next year")]
    assert len(re.findall(r'class="crm-cal-day[ "]', html)) == 35  # Monday 2026-11-30 to Sunday 2027-01-03
    week = client.get("/e/deal/calendar?start=2026-12-02&mode=week&lang=zh-CN").text
    assert "2026-11-30 至 2026-12-06" in week and entries(week) == [("2026-12-01", "Early")]
    assert "周一" in week and "日历" in week
    assert "2026年12月" in client.get("/e/deal/calendar?start=2026-12-02&lang=zh-CN").text
    nav = client.get("/e/deal/calendar?start=2026-12-15").text
    assert "start=2026-11-01" in nav and "start=2027-01-01" in nav
    assert client.get("/e/deal/calendar?start=garbage").status_code == 200  # falls back to today


def test_filters_apply_and_bad_ones_are_explained(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    svc.runtime().create("deal", {"title": "High", "close_on": "2026-12-01", "priority": "high"})
    svc.runtime().create("deal", {"title": "Low", "close_on": "2026-12-02", "priority": "low"})
    html = client.get("/e/deal/calendar?start=2026-12-01&priority=high").text
    assert [t for _, t in entries(html)] == ["High"]
    assert 'href="/e/deal/board?priority=high"' in html  # the filter travels to the other views
    bad = client.get("/e/deal/calendar?close_on__gt=nope")
    assert bad.status_code == 400 and "close_on__gt" in bad.text


def test_moving_a_record_to_another_day(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    deal = svc.runtime().create("deal", {"title": "Move me", "close_on": "2026-12-01"})
    token = csrf_of(client.get("/e/deal/calendar?start=2026-12-01").text)

    def move(day: str, version: int | None = None) -> tuple[int, dict]:
        data = {"record_id": str(deal["id"]), "day": day}
        if version is not None:
            data["lock_version"] = str(version)
        response = client.post("/e/deal/calendar/move?lang=en", data=data, headers={"X-CSRFToken": token})
        return response.status_code, response.get_json()

    status, answer = move("2026-12-09", deal["lock_version"])
    assert status == 200 and answer["message"] == "Moved to 2026-12-09."
    assert svc.runtime().get("deal", deal["id"])["close_on"] == "2026-12-09"
    status, answer = move("2026-12-10", deal["lock_version"])  # the version it was read at is stale now
    assert status == 409 and not answer["ok"] and answer["message"]
    assert move("not a day")[0] == 400
    assert svc.runtime().get("deal", deal["id"])["close_on"] == "2026-12-09"


def test_a_datetime_keeps_its_time_of_day(client: FlaskClient, svc: CrmServices) -> None:
    customer = svc.runtime().create("customer", {"name": "Wang", "seen_at": "2026-12-03T14:30:00Z"})
    html = client.get("/e/customer/calendar?date=seen_at&start=2026-12-03").text
    assert entries(html) == [("2026-12-03", "Wang")] and "14:30" in html
    token = csrf_of(html)
    response = client.post(
        "/e/customer/calendar/move?date=seen_at",
        data={"record_id": str(customer["id"]), "day": "2026-12-05"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert svc.runtime().get("customer", customer["id"])["seen_at"].startswith("2026-12-05T14:30:00")


def test_entities_without_a_date_have_no_calendar(client: FlaskClient, svc: CrmServices) -> None:
    assert "No calendar for this list" in client.get("/e/company/calendar?lang=en").text
    listed = client.get("/e/customer?lang=en").text
    assert 'href="/e/customer/board"' in listed and 'href="/e/customer/calendar"' in listed
    assert "crm-view-tabs" not in client.get("/e/company").text
    assert client.get("/e/nothing/calendar").status_code == 404
