"""The studio's org tree page: admins only, CSRF, add / relabel / move / delete through AccessAdmin, every
refusal said in the reader's language (never a 500)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.auth.users import create_user, user_id_of
from crm_platform.services import CrmServices
from metamodel.access.admin import AccessAdmin
from tests.platform.pages.conftest import admin_client, csrf_of

TREE = "/studio/access/org-units"


def _tree(admin: AccessAdmin) -> dict[str, str | None]:
    """Return {unit name: parent unit name}."""
    units = admin.units()
    names = {u["id"]: u["name"] for u in units}
    return {u["name"]: names.get(u["parent_id"]) for u in units}


def test_non_admins_get_403_on_the_tree_and_every_action(client: FlaskClient, svc: CrmServices) -> None:
    admin = AccessAdmin(svc.engine)
    hq = admin.create_unit("hq")
    assert client.get(TREE).status_code == 403
    token = csrf_of(client.get("/").text)
    for path, data in (
        (TREE, {"name": "east"}),
        (f"{TREE}/{hq['id']}", {"label_en": "X"}),
        (f"{TREE}/{hq['id']}/move", {"parent_id": ""}),
        (f"{TREE}/{hq['id']}/delete", {}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert _tree(admin) == {"hq": None}
    assert admin.unit(hq["id"])["label"] == {}


def test_build_relabel_move_and_delete_units(site_app: Flask, svc: CrmServices) -> None:
    boss, admin = admin_client(site_app, svc), AccessAdmin(svc.engine)
    page = boss.get(f"{TREE}?lang=en")
    assert page.status_code == 200 and "No org units yet" in page.text
    token = csrf_of(page.text)
    assert boss.post(TREE, data={"name": "hq"}).status_code == 400  # no CSRF token
    made = boss.post(TREE, data={"csrf_token": token, "name": "hq", "label_en": "HQ", "label_zh": "总部"})
    assert made.status_code == 302
    hq = admin.units()[0]
    assert hq["label"] == {"en": "HQ", "zh-CN": "总部"}
    for name, label in (("east", "East <region>"), ("west", "West region")):
        boss.post(TREE, data={"csrf_token": token, "name": name, "label_en": label, "parent_id": hq["id"]})
    ids = {u["name"]: u["id"] for u in admin.units()}
    boss.post(
        TREE, data={"csrf_token": token, "name": "store_1", "label_en": "Store 1", "parent_id": ids["east"]}
    )
    ids = {u["name"]: u["id"] for u in admin.units()}
    assert _tree(admin) == {"hq": None, "east": "hq", "west": "hq", "store_1": "east"}
    page = boss.get(f"{TREE}?unit={ids['east']}&lang=zh-CN")
    assert "East &lt;region&gt;" in page.text and "<region>" not in page.text  # labels are escaped
    assert "上级部门" in page.text
    # The editor's parent picker leaves out the unit itself and everything below it.
    picker = page.text.split('id="e-parent"')[1].split("</select>")[0]
    assert f'value="{ids["west"]}"' in picker and f'value="{ids["store_1"]}"' not in picker
    # Relabel in both languages, keeping the parent.
    saved = boss.post(
        f"{TREE}/{ids['east']}",
        data={"csrf_token": token, "label_en": "East", "label_zh": "华东大区", "parent_id": ids["hq"]},
    )
    assert saved.status_code == 302
    assert admin.unit(ids["east"])["label"] == {"en": "East", "zh-CN": "华东大区"}
    assert "已保存部门 华东大区" in boss.get(f"{TREE}?lang=zh-CN").text
    # A drop moves the store (and whatever is below it) to the west region, then to the top level.
    moved = boss.post(f"{TREE}/{ids['store_1']}/move", data={"csrf_token": token, "parent_id": ids["west"]})
    assert moved.status_code == 302 and _tree(admin)["store_1"] == "west"
    boss.post(f"{TREE}/{ids['west']}/move", data={"csrf_token": token, "parent_id": ids["east"]})
    assert _tree(admin) == {"hq": None, "east": "hq", "west": "east", "store_1": "west"}
    # A unit cannot go below itself: refused in words, nothing changed.
    refused = boss.post(
        f"{TREE}/{ids['east']}/move?lang=en", data={"csrf_token": token, "parent_id": ids["store_1"]}
    )
    assert refused.status_code == 422 and "cannot be the unit itself or a unit below it" in refused.text
    refused = boss.post(
        f"{TREE}/{ids['east']}?lang=zh-CN", data={"csrf_token": token, "parent_id": "abc", "label_en": "E"}
    )
    assert refused.status_code == 422 and "上级部门" in refused.text and "请从列表中选择" in refused.text
    assert _tree(admin)["east"] == "hq" and admin.unit(ids["east"])["label"]["en"] == "East"
    # A unit in use is not deleted; an empty one is.
    create_user(svc.engine, "mei", "ann-amber-kettle-42")
    admin.set_user_unit(user_id_of(svc.engine, "mei"), ids["store_1"])
    kept = boss.post(f"{TREE}/{ids['store_1']}/delete?lang=en", data={"csrf_token": token})
    assert kept.status_code == 409 and "still has 0 sub-unit(s) and 1 person(s)" in kept.text
    admin.set_user_unit(user_id_of(svc.engine, "mei"), ids["hq"])
    assert boss.post(f"{TREE}/{ids['store_1']}/delete", data={"csrf_token": token}).status_code == 302
    assert "store_1" not in _tree(admin)


def test_bad_input_is_explained_and_kept(site_app: Flask, svc: CrmServices) -> None:
    boss, admin = admin_client(site_app, svc), AccessAdmin(svc.engine)
    admin.create_unit("hq", label={"en": "HQ"})
    token = csrf_of(boss.get(TREE).text)
    bad = boss.post(f"{TREE}?lang=en", data={"csrf_token": token, "name": "1 bad", "label_en": "Kept label"})
    assert bad.status_code == 422 and "use 1-80 letters" in bad.text and 'value="Kept label"' in bad.text
    taken = boss.post(f"{TREE}?lang=zh-CN", data={"csrf_token": token, "name": "hq"})
    assert taken.status_code == 409 and "名称已被占用" in taken.text
    missing = boss.post(f"{TREE}?lang=en", data={"csrf_token": token, "name": "east", "parent_id": "999999"})
    assert missing.status_code == 422 and "no longer exists" in missing.text
    for path in (f"{TREE}/999999", f"{TREE}/99999999999999999999999", f"{TREE}/x/move"):
        assert boss.post(path, data={"csrf_token": token}).status_code == 404, path
    assert boss.get(f"{TREE}?unit=999999").status_code == 404
    assert boss.get(f"{TREE}?unit=abc").status_code == 404
    assert [u["name"] for u in admin.units()] == ["hq"]
