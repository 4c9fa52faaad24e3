"""The studio's access, field-security and users pages: admins only, CSRF, the same services as the API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import authenticate, user_id_of
from crm_platform.services import CrmServices
from metamodel.access.admin import AccessAdmin
from tests.platform.pages.conftest import admin_client, csrf_of

STRONG = "ann-amber-kettle-42"
PAGES = ("/studio/access", "/studio/access/fields", "/studio/access/users")


def test_non_admins_get_403_on_every_page_and_action(client: FlaskClient, svc: CrmServices) -> None:
    admin = AccessAdmin(svc.engine)
    admin.create_role("designer")
    admin.set_permissions("designer", [{"entity": "*", "operation": "configure", "scope": "all"}])
    admin.assign_role(user_id_of(svc.engine, "clerk"), "designer")
    assert client.get("/studio").status_code == 200  # she may design entities...
    for path in PAGES:
        assert client.get(path).status_code == 403, path  # ...but not manage access or users
    token = csrf_of(client.get("/studio").text)
    posts = {
        "/studio/access/roles": {"name": "x"},
        "/studio/access/roles/designer/permissions": {"p.*.read": "all"},
        "/studio/access/roles/designer/fields": {"entity": "customer"},
        "/studio/access/users": {"username": "eve", "password": STRONG},
        "/studio/access/users/1/active": {"active": "0"},
        "/studio/access/users/1/password": {"password": STRONG},
    }
    for path, data in posts.items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert "x" not in [r["name"] for r in admin.roles()]
    assert admin.permissions("designer") == [{"entity": "*", "operation": "configure", "scope": "all"}]


def test_matrix_and_field_rules_save_through_the_access_service(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    page = boss.get("/studio/access?lang=en")
    assert page.status_code == 200 and "Every entity" in page.text
    token = csrf_of(page.text)
    assert boss.post("/studio/access/roles", data={"name": "store"}).status_code == 400  # no CSRF token
    made = boss.post(
        "/studio/access/roles",
        data={"csrf_token": token, "name": "store", "label_en": "Store <staff>", "label_zh": "门店员工"},
    )
    assert made.status_code == 302
    page = boss.get("/studio/access?role=store&lang=en")
    assert "Store &lt;staff&gt;" in page.text and "<staff>" not in page.text  # labels are escaped
    saved = boss.post(
        "/studio/access/roles/store/permissions",
        data={
            "csrf_token": token,
            "p.customer.read": "org_unit",
            "p.customer.create": "all",
            "p.company.read": "",
        },
    )
    assert saved.status_code == 302
    admin = AccessAdmin(svc.engine)
    assert admin.permissions("store") == [
        {"entity": "customer", "operation": "create", "scope": "all"},
        {"entity": "customer", "operation": "read", "scope": "org_unit"},
    ]
    assert admin.enforced()
    bad = boss.post(
        "/studio/access/roles/store/permissions?lang=zh-CN",
        data={"csrf_token": token, "p.customer.read": "galaxy"},
    )
    assert bad.status_code == 422 and "请修改以下内容" in bad.text
    fields = boss.get("/studio/access/fields?role=store&entity=customer&lang=zh-CN")
    assert fields.status_code == 200 and "脱敏" in fields.text and "m***@example.com" in fields.text
    ruled = boss.post(
        "/studio/access/roles/store/fields",
        data={
            "csrf_token": token,
            "entity": "customer",
            "f.email": "masked",
            "m.email": "email",
            "f.notes": "hidden",
            "m.notes": "phone",
            "r.notes": "on",
        },
    )
    assert ruled.status_code == 302
    assert admin.field_rules("store") == [
        {"entity": "customer", "field": "email", "access": "masked", "mask": "email", "reveal": False},
        {"entity": "customer", "field": "notes", "access": "hidden", "mask": None, "reveal": True},
    ]
    unknown = boss.post(
        "/studio/access/roles/store/fields",
        data={"csrf_token": token, "entity": "customer", "f.ghost": "hidden"},
    )
    assert unknown.status_code == 422 and len(admin.field_rules("store")) == 2
    assert boss.get("/studio/access/fields?role=nobody").status_code == 404


def test_users_page_creates_changes_deactivates_and_resets(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    admin = AccessAdmin(svc.engine)
    hq = admin.create_unit("hq", label={"en": "HQ", "zh-CN": "总部"})
    store = admin.create_unit("store_1", hq["id"], {"en": "Store 1", "zh-CN": "一号店"})
    admin.create_role("clerk_role")
    page = boss.get("/studio/access/users?lang=en")
    assert page.status_code == 200 and "HQ / Store 1" in page.text
    token = csrf_of(page.text)
    weak = boss.post(
        "/studio/access/users?lang=zh-CN",
        data={"csrf_token": token, "username": "mei", "password": "password123", "unit_id": str(store["id"])},
    )
    assert weak.status_code == 422 and "最常用的密码" in weak.text and 'value="mei"' in weak.text
    made = boss.post(
        "/studio/access/users",
        data={
            "csrf_token": token,
            "username": "mei",
            "display_name": "<b>Mei</b>",
            "password": STRONG,
            "locale": "zh-CN",
            "unit_id": str(store["id"]),
            "role": "clerk_role",
        },
    )
    assert made.status_code == 302
    uid = user_id_of(svc.engine, "mei")
    assert admin.user_access(uid)["unit_id"] == store["id"]
    shown = boss.get(made.location)
    assert "&lt;b&gt;Mei&lt;/b&gt;" in shown.text and "<b>Mei</b>" not in shown.text
    boss.post(
        f"/studio/access/users/{uid}",
        data={
            "csrf_token": token,
            "display_name": "Mei",
            "unit_id": str(hq["id"]),
            "role": "clerk_role",
            "exp.clerk_role": "2031-05-01T09:30",
        },
    )
    assert admin.user_access(uid) == {
        **admin.user_access(uid),
        "unit_id": hq["id"],
        "roles": [{"role": "clerk_role", "expires_at": "2031-05-01T09:30:00+00:00"}],
    }
    listed = boss.get("/studio/access/users?q=mei&lang=en")
    assert "1 user(s)" in listed.text and "until 2031-05-01 09:30" in listed.text
    boss.post(f"/studio/access/users/{uid}/active", data={"csrf_token": token, "active": "0"})
    assert authenticate(svc.engine, "mei", STRONG) is None
    boss.post(f"/studio/access/users/{uid}/active", data={"csrf_token": token, "active": "1"})
    reset = boss.post(f"/studio/access/users/{uid}/password", data={"csrf_token": token, "password": "mei"})
    assert reset.status_code == 422
    boss.post(
        f"/studio/access/users/{uid}/password",
        data={"csrf_token": token, "password": "tea-lantern-violet-88"},
    )
    assert authenticate(svc.engine, "mei", "tea-lantern-violet-88") is not None
    assert boss.get("/studio/access/users/99999").status_code == 404
