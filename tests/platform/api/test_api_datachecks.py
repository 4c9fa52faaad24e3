"""Issue 15 items 1 and 2 through the API: validate lists data findings, publish takes an option map."""

from __future__ import annotations

from typing import Any

from tests.platform.api.apisupport import Api, options

LEAD: dict[str, Any] = {
    "name": "lead",
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text"},
        {"name": "source", "type": "select", "options": options("web", "fair")},
    ],
}


def test_validate_and_publish_with_an_option_map(admin: Api) -> None:
    admin.define("entity", "lead", LEAD)
    admin.publish("v1")
    admin.ok("POST", "/records/lead", {"name": "Ann", "source": "fair"}, status=201)
    doc = {**LEAD, "fields": [LEAD["fields"][0], {**LEAD["fields"][1], "options": options("web")}]}
    admin.define("entity", "lead", doc)
    checked = admin.ok("POST", "/meta/draft/validate?lang=zh-CN")
    assert checked["valid"] is False
    [finding] = checked["problems"]
    assert (finding["code"], finding["count"], finding["records"][0]["title"]) == ("option_in_use", 1, "Ann")
    assert "仍在使用" in finding["message"]
    refused = admin.post("/meta/publish", {})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["findings"][0]["code"] == "option_in_use"
    remap = {"remap": {"lead": {"source": {"fair": "web"}}}}
    assert admin.ok("POST", "/meta/draft/validate", remap)["valid"] is True
    admin.ok("POST", "/meta/publish", remap, status=201)
    assert admin.ok("GET", "/records/lead/1")["source"] == "web"
