"""Time zones on the pages: datetimes shown and typed in the reader's zone (her own, else the site's),
the preferences page where she picks it, and the studio's site settings (administrators, audited)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from metamodel.sitesettings import write_settings
from metamodel.systables import audit_log, users
from tests.platform.pages.boardsupport import publish_deals
from tests.platform.pages.conftest import PASSWORD, csrf_of

# 17:30 UTC on 2 March is 01:30 on 3 March in Shanghai and 12:30 on 2 March in New York.
SEEN = "2026-03-02T17:30:45.123456Z"


def _zone_of(svc: CrmServices, username: str) -> str | None:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(users.c.time_zone).where(users.c.username == username)).scalar()


def _signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return client


def test_datetimes_show_in_the_site_zone_then_in_her_own(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Ann", "seen_at": SEEN})
    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    page = client.get(f"/e/customer/{record['id']}?lang=en").text
    assert ">Mar 3, 2026, 01:30<" in page and "45.123456" not in page.split("<main", 1)[-1].replace(SEEN, "")
    zh = client.get(f"/e/customer/{record['id']}?lang=zh-CN").text
    assert ">2026年3月3日 01:30<" in zh
    listed = client.get("/e/customer?cols=name,seen_at&lang=en").text
    assert ">03-03 01:30<" in listed
    token = csrf_of(client.get("/account/preferences").text)
    saved = client.post("/account/preferences", data={"csrf_token": token, "time_zone": "America/New_York"})
    assert saved.status_code == 302 and _zone_of(svc, "clerk") == "America/New_York"
    assert ">Mar 2, 2026, 12:30<" in client.get(f"/e/customer/{record['id']}?lang=en").text
    # Created and updated times (system timestamps) follow the same zone.
    created = record["created_at"]
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    local = moment.astimezone(ZoneInfo("America/New_York"))
    assert local.strftime("%H:%M") in client.get(f"/e/customer/{record['id']}?lang=en").text


def test_a_form_shows_and_reads_times_in_her_zone(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "Ann", "seen_at": SEEN})
    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    html = client.get(f"/e/customer/{record['id']}/edit?lang=en").text
    assert 'name="seen_at" type="datetime-local"' in html and 'value="2026-03-03T01:30"' in html
    assert ">Asia/Shanghai</span>" in html
    response = client.post(
        f"/e/customer/{record['id']}/edit",
        data={"csrf_token": csrf_of(html), "lock_version": "1", "name": "Ann", "seen_at": "2026-03-04T09:00"},
    )
    assert response.status_code == 302
    stored = svc.runtime().get("customer", record["id"])["seen_at"]
    assert stored == "2026-03-04T01:00:00Z"  # 09:00 in Shanghai


def test_preferences_refuse_an_unknown_zone_in_her_language(client: FlaskClient, svc: CrmServices) -> None:
    page = client.get("/account/preferences?lang=en")
    assert page.status_code == 200 and 'name="time_zone"' in page.text and "Asia/Shanghai" in page.text
    token = csrf_of(page.text)
    refused = client.post("/account/preferences", data={"csrf_token": token, "time_zone": "Mars/Base"})
    assert refused.status_code == 422 and "“Mars/Base” is not a known time zone" in refused.text
    client.get("/account/preferences?lang=zh-CN")
    refused = client.post("/account/preferences", data={"csrf_token": token, "time_zone": "Mars/Base"})
    assert "“Mars/Base”不是有效的时区" in refused.text
    assert _zone_of(svc, "clerk") is None
    client.post("/account/preferences", data={"csrf_token": token, "time_zone": "Europe/Berlin"})
    assert _zone_of(svc, "clerk") == "Europe/Berlin"
    client.post("/account/preferences", data={"csrf_token": token, "time_zone": ""})
    assert _zone_of(svc, "clerk") is None  # back to the site's zone


def test_site_settings_page_is_for_administrators_and_audited(
    site_app: Flask, client: FlaskClient, svc: CrmServices
) -> None:
    assert client.get("/studio/settings").status_code == 403
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    boss = _signed_in(site_app, "boss", PASSWORD)
    page = boss.get("/studio/settings?lang=en")
    assert page.status_code == 200 and "Site time zone" in page.text
    assert "Default for the site&#39;s language: (GMT+00:00) UTC" in page.text
    token = csrf_of(page.text)
    refused = boss.post("/studio/settings", data={"csrf_token": token, "time_zone": "Asia/Shangai"})
    assert refused.status_code == 422 and "“Asia/Shangai” is not a known time zone" in refused.text
    assert svc.metadata.model().time_zone.key == "UTC"
    saved = boss.post("/studio/settings", data={"csrf_token": token, "time_zone": "Asia/Shanghai"})
    assert saved.status_code == 302
    assert svc.metadata.model().time_zone.key == "Asia/Shanghai"
    with svc.engine.connect() as conn:
        [entry] = conn.execute(sa.select(audit_log).where(audit_log.c.action == "settings.change")).mappings()
    assert entry["actor_name"] == "boss" and entry["changes"] == {"time_zone": ["UTC", "Asia/Shanghai"]}
    assert 'value="Asia/Shanghai" selected' in boss.get("/studio/settings").text


def _cal_entries(html: str) -> list[tuple[str, str, str]]:
    """(day, time, title) of every calendar entry, in page order."""
    found = []
    for day, body in re.findall(r'data-day="([0-9-]+)"[^>]*>(.*?)</ul>', html, re.S):
        found += re.findall(r'<span class="crm-cal-time">([^<]*)</span><a href="[^"]+">([^<]+)</a>', body)
        found = [(day, *item) if len(item) == 2 else item for item in found]
    return found


def test_the_calendar_places_and_moves_times_in_her_zone(client: FlaskClient, svc: CrmServices) -> None:
    # 17:30 UTC on 3 December is 01:30 on 4 December in Shanghai.
    customer = svc.runtime().create("customer", {"name": "Wang", "seen_at": "2026-12-03T17:30:00Z"})
    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    svc.clock = lambda: dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC)  # 01:00 on 4 December there
    html = client.get("/e/customer/calendar?date=seen_at&start=2026-12-03").text
    assert _cal_entries(html) == [("2026-12-04", "01:30", "Wang")]
    assert re.search(r'crm-cal-day[^"]*crm-cal-today[^"]*">\s*<h3[^>]*id="day-2026-12-04"', html)
    response = client.post(
        "/e/customer/calendar/move?date=seen_at",
        data={"record_id": str(customer["id"]), "day": "2026-12-06"},
        headers={"X-CSRFToken": csrf_of(html)},
    )
    assert response.status_code == 200
    # Still 01:30 in Shanghai, now on 6 December: 17:30 UTC on the 5th.
    assert svc.runtime().get("customer", customer["id"])["seen_at"] == "2026-12-05T17:30:00Z"
    # A month view starting on the local 1st shows a record of 30 November 16:30 UTC (00:30 local, 1 Dec).
    svc.runtime().create("customer", {"name": "Early", "seen_at": "2026-11-30T16:30:00Z"})
    month = client.get("/e/customer/calendar?date=seen_at&start=2026-12-01").text
    assert ("2026-12-01", "00:30", "Early") in _cal_entries(month)


def test_board_card_ages_count_her_calendar_days(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    svc.clock = lambda: dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)  # 23:00 on 3 December there
    svc.runtime().create("deal", {"title": "Fresh"})
    svc.clock = lambda: dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC)  # 01:00 on 4 December there
    board = client.get("/e/deal/board?lang=en").text
    card = board.split("Fresh", 1)[1].split("crm-board-card", 1)[0]
    assert re.search(r">1 d</span>", card)  # created yesterday in Shanghai (0 days on a UTC reading)


def test_studio_previews_count_days_in_the_site_zone(site_app: Flask, svc: CrmServices) -> None:
    from crm_platform.pages.studioexpr import draft_site

    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    with site_app.test_request_context("/studio"):
        assert draft_site().time_zone.key == "Asia/Shanghai"  # the expression editor's checks and previews


def test_list_filters_and_exports_read_days_and_times_in_her_zone(
    client: FlaskClient, svc: CrmServices
) -> None:
    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    moments = {
        "before": "2026-03-02T15:59:00Z",  # 23:59 on 2 March in Shanghai
        "first": "2026-03-02T16:00:00Z",  # 00:00 on 3 March
        "last": "2026-03-03T15:59:00Z",  # 23:59 on 3 March
        "after": "2026-03-03T16:00:00Z",  # 00:00 on 4 March
    }
    for name, moment in moments.items():
        svc.runtime().create("customer", {"name": name, "seen_at": moment})

    def names(query: str) -> list[str]:
        csv_text = client.get(f"/e/customer/export.csv?cols=name,seen_at&sort=seen_at&lang=en&{query}").text
        return [line.split(",")[0] for line in csv_text.strip().splitlines()[1:]]

    assert names("seen_at__gte=2026-03-03&seen_at__lte=2026-03-03") == ["first", "last"]
    assert names("seen_at__between=2026-03-03,2026-03-03") == ["first", "last"]
    assert names("seen_at__lt=2026-03-03") == ["before"]
    assert names("seen_at__gt=2026-03-03") == ["after"]
    exported = client.get("/e/customer/export.csv?cols=name,seen_at&sort=seen_at&lang=en").text
    assert "first,2026-03-03 00:00" in exported and "before,2026-03-02 23:59" in exported
    listed = client.get("/e/customer?cols=name,seen_at&seen_at__gte=2026-03-03&lang=en").text
    assert ">first<" in listed and ">before<" not in listed
    assert "2026-03-03" in listed and "2026-03-03 08:00" not in listed  # the chip shows her day as typed
    # The API keeps its rule: a day given to a datetime filter is UTC midnight.
    api = client.get("/api/v1/records/customer?seen_at__gte=2026-03-03&sort=seen_at").get_json()
    assert [item["name"] for item in api["items"]] == ["last", "after"]


def test_role_expiries_and_version_times_in_the_studio_use_her_zone(
    site_app: Flask, svc: CrmServices
) -> None:
    from metamodel.access import AccessAdmin

    write_settings(svc.engine, {"time_zone": "Asia/Shanghai"}, "test")
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    boss = _signed_in(site_app, "boss", PASSWORD)
    admin = AccessAdmin(svc.engine)
    admin.create_role("clerk_role")
    with svc.engine.connect() as conn:
        clerk = int(conn.execute(sa.select(users.c.id).where(users.c.username == "clerk")).scalar_one())
    token = csrf_of(boss.get("/studio/access/users").text)
    boss.post(
        f"/studio/access/users/{clerk}",
        data={
            "csrf_token": token,
            "display_name": "Clerk",
            "role": "clerk_role",
            "exp.clerk_role": "2031-05-01T09:30",
        },
    )
    [grant] = admin.user_access(clerk)["roles"]
    assert dt.datetime.fromisoformat(grant["expires_at"]) == dt.datetime(2031, 5, 1, 1, 30, tzinfo=dt.UTC)
    assert "until 2031-05-01 09:30" in boss.get("/studio/access/users?lang=en").text
    assert 'value="2031-05-01T09:30"' in boss.get(f"/studio/access/users/{clerk}").text
    published = svc.metadata.versions()[0].created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert published.strftime("%Y-%m-%d %H:%M") in boss.get("/studio/history?lang=en").text
