"""The studio's draft, publish and history pages: pending changes in plain words, validate with links to
the fix, publish with a comment, diff between versions, rollback after a preview, stale saves refused."""

from __future__ import annotations

import copy
import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.conftest import ENTITIES, PASSWORD, csrf_of


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def _boss(app: Flask, svc: CrmServices, name: str = "boss") -> FlaskClient:
    create_user(svc.engine, name, PASSWORD, is_admin=True)
    return _signed_in(app, name)


def _base_of(page: str) -> str:
    found = re.search(r'name="base" value="([0-9a-f]+)"', page)
    assert found, "no base fingerprint in the page"
    return found.group(1)


def _customer_with(svc: CrmServices, **changes: object) -> None:
    doc = copy.deepcopy(svc.metadata.draft().documents["entity"]["customer"])
    doc.update(changes)
    svc.metadata.put_document("entity", "customer", doc, "test")


def test_non_configurers_get_403_everywhere(site_app: Flask, client: FlaskClient, svc: CrmServices) -> None:
    token = csrf_of(client.get("/").text)
    for path in ("/studio/review", "/studio/history", "/studio/history/1/rollback"):
        assert client.get(path).status_code == 403, path
    for path in ("/studio/validate", "/studio/publish", "/studio/discard", "/studio/history/1/rollback"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert len(svc.metadata.versions()) == 1


def test_every_post_needs_the_csrf_token(site_app: Flask, svc: CrmServices) -> None:
    boss = _boss(site_app, svc)
    _customer_with(svc, label={"en": "Client", "zh-CN": "客户"})
    for path in ("/studio/validate", "/studio/publish", "/studio/discard", "/studio/history/1/rollback"):
        assert boss.post(path, data={"comment": "x"}).status_code == 400, path
    assert len(svc.metadata.versions()) == 1 and "Client" in str(svc.metadata.draft().documents)


def test_pending_changes_in_plain_words_and_validate_links_to_the_fix(
    site_app: Flask, svc: CrmServices
) -> None:
    boss = _boss(site_app, svc)
    fields = copy.deepcopy(ENTITIES["customer"]["fields"])
    fields[0]["required"] = False
    fields.append({"name": "owner", "type": "link", "target": "nobody", "label": {"en": "Owner"}})
    _customer_with(svc, label={"en": "Client", "zh-CN": "顾客"}, fields=fields)
    review = boss.get("/studio/review?lang=en").text
    assert "Field Owner added to Client" in review
    assert "Field Name of Client changed" in review and "Required: yes → no" in review
    assert "Client (entity) changed" in review and "Label: “Customer” → “Client”" in review
    zh = boss.get("/studio/review?lang=zh-CN").text
    assert "顾客 新增字段：Owner" in zh and "必填：是 → 否" in zh
    token = csrf_of(review)
    checked = boss.post("/studio/validate?lang=en", data={"csrf_token": token})
    assert checked.status_code == 200 and "1 problem(s) to fix before publishing" in checked.text
    assert (
        "Field Owner of Client" in checked.text and "entity &#39;nobody&#39; does not exist" in checked.text
    )
    assert 'href="/studio/entities/customer#field-owner"' in checked.text
    refused = boss.post("/studio/publish?lang=en", data={"csrf_token": token, "comment": "x"})
    assert refused.status_code == 422 and 'href="/studio/entities/customer#field-owner"' in refused.text
    assert len(svc.metadata.versions()) == 1
    fields.pop()
    _customer_with(svc, fields=fields)
    ok = boss.post("/studio/validate?lang=zh-CN", data={"csrf_token": token}).text
    assert "未发现问题，草稿可以发布。" in ok


def test_publish_history_diff_and_rollback(site_app: Flask, svc: CrmServices) -> None:
    boss = _boss(site_app, svc)
    token = csrf_of(boss.get("/studio/review").text)
    _customer_with(svc, label={"en": "Client <b>", "zh-CN": "顾客"})
    published = boss.post("/studio/publish", data={"csrf_token": token, "comment": "rename <i>customers</i>"})
    assert published.status_code == 302 and published.location.endswith("/studio/history")
    assert svc.metadata.versions()[0].comment == "rename <i>customers</i>"
    history = boss.get("/studio/history?lang=en").text
    assert "rename &lt;i&gt;customers&lt;/i&gt;" in history and "<i>customers" not in history
    assert "Label: “Customer” → “Client &lt;b&gt;”" in history  # the latest two compared by default
    assert 'href="/studio/history/1/rollback"' in history and "/studio/history/2/rollback" not in history
    older = boss.get("/studio/history?a=&b=1&lang=en").text  # from nothing to version 1
    assert "New entity: Customer" in older and "New entity: company" in older
    junk = boss.get("/studio/history?a=zz&b=999").status_code
    assert junk == 200
    _customer_with(svc, list_fields=["name"])  # an unpublished change the rollback will replace
    preview = boss.get("/studio/history/1/rollback?lang=zh-CN").text
    assert "回滚将带来的变化" in preview and "名称：“顾客” → “客户”" in preview
    assert "当前未发布的修改将被此版本替换。" in preview
    assert len(svc.metadata.versions()) == 2  # the preview changes nothing
    assert boss.get("/studio/history/9/rollback").status_code == 404
    done = boss.post("/studio/history/1/rollback?lang=en", data={"csrf_token": token, "comment": ""})
    assert done.status_code == 302
    latest = svc.metadata.versions()[0]
    assert (latest.number, latest.action, latest.source_version) == (3, "rollback", 1)
    assert latest.comment == "Rollback to version 1"
    assert svc.metadata.model().bundle.entity("customer").doc["label"]["en"] == "Customer"
    page = boss.get("/studio/history?lang=en").text
    assert "rollback to 1" in page and "Everything is published" in page


def test_discard_throws_the_draft_away(site_app: Flask, svc: CrmServices) -> None:
    boss = _boss(site_app, svc)
    _customer_with(svc, label={"en": "Client"})
    token = csrf_of(boss.get("/studio/review").text)
    assert boss.post("/studio/discard", data={"csrf_token": token}).status_code == 302
    assert svc.metadata.draft() == svc.metadata.bundle_of(1)


def test_the_later_save_of_a_stale_draft_is_refused(site_app: Flask, svc: CrmServices) -> None:
    ann, bob = _boss(site_app, svc, "ann"), _boss(site_app, svc, "bob")
    pages = [ann.get("/studio/entities/customer").text, bob.get("/studio/entities/customer").text]
    bases = [_base_of(p) for p in pages]
    assert bases[0] == bases[1]

    def add(client: FlaskClient, page: str, base: str, name: str) -> TestResponse:
        form = {"csrf_token": csrf_of(page), "base": base, "name": name, "label_en": name, "type": "text"}
        return client.post("/studio/entities/customer/fields?lang=en", data=form)

    assert add(ann, pages[0], bases[0], "hobby").status_code == 302
    late = add(bob, pages[1], bases[1], "pet")
    assert late.status_code == 409
    text = late.get_data(as_text=True)
    assert "ann saved this entity after you opened it. Nothing was saved and nothing was overwritten" in text
    assert 'value="pet"' in text and 'id="field-hobby"' in text  # her input kept, Ann's field shown
    names = [f["name"] for f in svc.metadata.draft().documents["entity"]["customer"]["fields"]]
    assert "hobby" in names and "pet" not in names
    fresh = _base_of(text)
    assert add(bob, text, fresh, "pet").status_code == 302
