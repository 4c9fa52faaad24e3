"""Site settings over the API: anyone signed in reads them, administrators change the time zone (audited),
an unknown zone is refused; the API's datetime rule does not depend on the site's zone."""

from __future__ import annotations

from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, error_of


def test_the_site_zone_is_read_by_anyone_and_changed_by_an_administrator(
    admin: Api, user: Api, api_svc: CrmServices
) -> None:
    assert user.ok("GET", "/settings") == {
        "language": "en",
        "time_zone": "UTC",
        "defaults": {"time_zone": "UTC"},
        "explicit": [],
    }
    refused = user.patch("/settings", {"time_zone": "Asia/Shanghai"})
    assert refused.status_code == 403
    changed = admin.ok("PATCH", "/settings", {"time_zone": "Asia/Shanghai"})
    assert changed["time_zone"] == "Asia/Shanghai" and changed["explicit"] == ["time_zone"]
    assert user.ok("GET", "/settings")["time_zone"] == "Asia/Shanghai"
    assert api_svc.metadata.model().time_zone.key == "Asia/Shanghai"  # today() and rules count in it now
    [entry] = admin.ok("GET", "/audit?action=settings")["items"]
    assert entry["action"] == "settings.change" and entry["actor_name"] == "admin"
    assert entry["changes"] == {"time_zone": ["UTC", "Asia/Shanghai"]}
    back = admin.ok("PATCH", "/settings", {"time_zone": None})
    assert back["time_zone"] == "UTC" and back["explicit"] == []
    assert len(admin.ok("GET", "/audit?action=settings.change")["items"]) == 2


def test_a_zh_cn_site_defaults_to_shanghai(admin: Api) -> None:
    settings = admin.ok("PATCH", "/settings", {"language": "zh-CN"})
    assert settings["time_zone"] == "Asia/Shanghai" and settings["defaults"] == {"time_zone": "Asia/Shanghai"}


def test_an_unknown_zone_or_setting_is_refused_and_nothing_changes(admin: Api) -> None:
    for body, path in (
        ({"time_zone": "Mars/Olympus_Mons"}, "settings.time_zone"),
        ({"time_zone": 8}, "settings.time_zone"),
        ({"colour": "blue"}, "settings.colour"),
        ({}, "settings"),
    ):
        response = admin.patch("/settings", body)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "settings_invalid" and [p["path"] for p in error["details"]] == [path]
    assert (
        "Mars/Olympus_Mons"
        in error_of(admin.patch("/settings", {"time_zone": "Mars/Olympus_Mons"}))["details"][0]["message"]
    )
    assert admin.ok("GET", "/settings")["time_zone"] == "UTC"
    assert admin.ok("GET", "/audit?action=settings")["items"] == []


def test_the_zone_list_and_the_documented_operations(admin: Api) -> None:
    zones = admin.ok("GET", "/settings/time-zones")["items"]
    assert "Asia/Shanghai" in zones and "UTC" in zones and zones == sorted(zones)
    document = admin.ok("GET", "/openapi.json")
    operation = document["paths"]["/api/v1/settings"]["patch"]
    assert {"403", "422"} <= set(operation["responses"])
    assert "time_zone" in operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "without an offset is taken as UTC" in document["paths"]["/api/v1/settings"]["get"]["summary"]


def test_api_datetimes_without_an_offset_are_utc_whatever_the_site_zone(admin: Api) -> None:
    admin.define(
        "entity",
        "visit",
        {
            "title_field": "name",
            "fields": [{"name": "name", "type": "text"}, {"name": "at", "type": "datetime"}],
        },
    )
    admin.publish("visits")
    admin.ok("PATCH", "/settings", {"time_zone": "Asia/Shanghai"})
    naive = admin.ok("POST", "/records/visit", {"name": "a", "at": "2026-03-03T01:30:00"}, status=201)
    assert naive["at"] == "2026-03-03T01:30:00Z"
    offset = admin.ok("POST", "/records/visit", {"name": "b", "at": "2026-03-03T01:30:00+08:00"}, status=201)
    assert offset["at"] == "2026-03-02T17:30:00Z"
    assert admin.ok("GET", f"/records/visit/{offset['id']}")["at"] == "2026-03-02T17:30:00Z"


def test_an_administrator_sets_a_users_own_zone(admin: Api, user: Api) -> None:
    [alice] = [u for u in admin.ok("GET", "/users?q=alice")["items"] if u["username"] == "alice"]
    assert alice["time_zone"] is None  # she follows the site
    changed = admin.ok("PATCH", f"/users/{alice['id']}", {"time_zone": "Europe/Berlin"})
    assert changed["time_zone"] == "Europe/Berlin"
    refused = admin.patch(f"/users/{alice['id']}", {"time_zone": "Europe/Atlantis", "display_name": "X"})
    assert refused.status_code == 422 and error_of(refused)["details"][0]["path"] == "time_zone"
    assert admin.ok("GET", f"/users/{alice['id']}")["display_name"] != "X"  # nothing of it was applied
    assert admin.ok("PATCH", f"/users/{alice['id']}", {"time_zone": None})["time_zone"] is None
    created = admin.post(
        "/users", {"username": "bo", "password": "ann-amber-kettle-42", "time_zone": "Asia/Tokyo"}
    )
    assert created.status_code == 201 and created.get_json()["time_zone"] == "Asia/Tokyo"
    bad = admin.post("/users", {"username": "cy", "password": "ann-amber-kettle-42", "time_zone": "Nowhere"})
    assert bad.status_code == 422
    assert [u for u in admin.ok("GET", "/users?q=cy")["items"] if u["username"] == "cy"] == []
