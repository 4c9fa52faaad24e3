"""The studio's first pages: who may open them, CSRF, creating an entity and adding fields into the draft."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user, user_id_of
from crm_platform.services import CrmServices
from metamodel.access.admin import AccessAdmin
from tests.platform.pages.conftest import PASSWORD, csrf_of


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_only_configurers_open_the_studio(site_app: Flask, svc: CrmServices, client: FlaskClient) -> None:
    page = client.get("/studio?lang=zh-CN")
    assert page.status_code == 403 and "您没有访问此页面的权限" in page.text  # the friendly page
    assert "/studio" not in client.get("/").text  # not offered in her sidebar either
    token = csrf_of(client.get("/").text)
    refused = client.post("/studio/entities", data={"csrf_token": token, "name": "x", "label_en": "X"})
    assert refused.status_code == 403 and "x" not in svc.metadata.draft().documents["entity"]
    # A role with "configure" on every entity opens it, like the metadata API.
    admin = AccessAdmin(svc.engine)
    admin.create_role("designer")
    admin.set_permissions("designer", [{"entity": "*", "operation": "configure", "scope": "all"}])
    admin.assign_role(user_id_of(svc.engine, "clerk"), "designer")
    admin.set_enforced(True)
    assert client.get("/studio").status_code == 200


def test_create_an_entity_add_fields_and_publish(site_app: Flask, svc: CrmServices) -> None:
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    boss = _signed_in(site_app, "boss")
    home = boss.get("/studio?lang=en")
    assert home.status_code == 200 and "Everything is published" in home.text and "Customer" in home.text
    token = csrf_of(home.text)
    assert boss.post("/studio/entities", data={"name": "ticket", "label_en": "Ticket"}).status_code == 400
    created = boss.post(
        "/studio/entities",
        data={
            "csrf_token": token,
            "name": "service_ticket",
            "label_en": "Service ticket",
            "label_zh": "服务工单",
            "icon": "ticket",
            "title_en": "Subject",
            "title_zh": "主题",
        },
    )
    assert created.status_code == 302 and created.location.endswith("/studio/entities/service_ticket")
    doc = svc.metadata.draft().documents["entity"]["service_ticket"]
    assert doc["label"] == {"en": "Service ticket", "zh-CN": "服务工单"} and doc["title_field"] == "title"
    page = boss.get(created.location)
    assert "1 unpublished change(s)" in page.text and "Subject" in page.text
    added = boss.post(
        "/studio/entities/service_ticket/fields",
        data={
            "csrf_token": token,
            "name": "status",
            "label_en": "Status",
            "label_zh": "状态",
            "type": "select",
            "options": "open | Open | 待处理\nclosed | Closed | 已关闭",
            "target": "customer",  # another type's setting: ignored
            "required": "on",
        },
    )
    assert added.status_code == 302
    boss.post(
        "/studio/entities/service_ticket/fields",
        data={
            "csrf_token": token,
            "name": "customer",
            "label_en": "Customer",
            "type": "link",
            "target": "customer",
        },
    )
    fields = {f["name"]: f for f in svc.metadata.draft().documents["entity"]["service_ticket"]["fields"]}
    assert fields["status"]["options"][1] == {
        "value": "closed",
        "color": "blue",
        "label": {"en": "Closed", "zh-CN": "已关闭"},
    }
    assert fields["status"]["required"] is True and "target" not in fields["status"]
    assert (
        fields["customer"]["target"] == "customer" and fields["customer"]["id"]
    )  # ids from the same service
    review = boss.get("/studio/review?lang=zh-CN").text
    assert "新增实体：服务工单" in review
    published = boss.post("/studio/publish", data={"csrf_token": token, "comment": "tickets"})
    assert published.status_code == 302
    assert "service_ticket" in svc.metadata.model().entities
    assert "Everything is published" in boss.get("/studio?lang=en").text


def test_bad_input_is_explained_and_kept(site_app: Flask, svc: CrmServices) -> None:
    create_user(svc.engine, "boss", PASSWORD, is_admin=True)
    boss = _signed_in(site_app, "boss")
    token = csrf_of(boss.get("/studio").text)
    bad = boss.post(
        "/studio/entities?lang=zh-CN", data={"csrf_token": token, "name": "Bad Name", "label_en": "Keep me"}
    )
    assert bad.status_code == 422 and "请使用小写字母" in bad.text and 'value="Keep me"' in bad.text
    duplicate = boss.post(
        "/studio/entities/customer/fields?lang=en",
        data={"csrf_token": token, "name": "tier", "label_en": "Tier", "type": "text"},
    )
    assert duplicate.status_code == 422 and "already has a field named tier" in duplicate.text
    no_options = boss.post(
        "/studio/entities/customer/fields?lang=en",
        data={"csrf_token": token, "name": "level", "label_en": "Level", "type": "select", "options": " "},
    )
    assert no_options.status_code == 422 and "at least one option" in no_options.text
    assert boss.get("/studio/entities/nope").status_code == 404
    assert svc.metadata.draft() == svc.metadata.bundle_of(svc.metadata.active_version() or 0)
