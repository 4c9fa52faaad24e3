"""A plugin's field type renders in the list, on the record page and in the form through its own presentation."""

from __future__ import annotations

from flask import Flask

from crm_platform.services import CrmServices
from metamodel.records.query import ListQuery
from tests.platform.api.apisupport import Api
from tests.platform.auth.authsupport import login
from tests.platform.pages.conftest import csrf_of
from tests.plugins.conftest import ADMIN_PASSWORD

PALETTE = {
    "name": "palette",
    "title_field": "title",
    "list_fields": ["title", "paint"],
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "paint", "type": "color", "label": {"en": "Paint", "zh-CN": "颜色"}},
    ],
}


def test_plugin_field_type_renders_in_list_detail_and_form(
    plugin_app: Flask, plugin_svc: CrmServices, admin: Api
) -> None:
    assert "color" in plugin_svc.presentations  # registered by the plugin, next to its field type
    admin.define("entity", "palette", PALETTE)
    admin.publish("palette")
    record = plugin_svc.runtime().create("palette", {"title": "Sea", "paint": "#12AB9F"})
    client = plugin_app.test_client()
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302

    listing = client.get("/e/palette").text
    assert 'class="sample-swatch" style="background:#12ab9f"' in listing
    detail = client.get(f"/e/palette/{record['id']}").text
    assert '<code class="sample-color">#12ab9f</code>' in detail

    form = client.get("/e/palette/new").text
    assert 'name="paint" type="color"' in form  # the plugin's widget template, not a text box
    response = client.post(
        "/e/palette/new", data={"csrf_token": csrf_of(form), "title": "Leaf", "paint": "#33AA11"}
    )
    assert response.status_code == 302, response.text
    saved = [r for r in plugin_svc.runtime().list("palette", ListQuery()).items if r["title"] == "Leaf"]
    assert saved[0]["paint"] == "#33aa11"
    bad = client.post("/e/palette/new", data={"csrf_token": csrf_of(form), "title": "Bad", "paint": "blue"})
    assert bad.status_code == 422 and "must be a colour like #12ab9f" in bad.text
    assert 'value="blue"' in bad.text  # what she typed is kept
