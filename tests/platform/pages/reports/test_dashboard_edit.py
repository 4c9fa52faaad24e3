"""Putting reports and saved views on dashboards: her own dashboard changes at once; a shared one only for
someone who may configure, through the metadata (published when nothing else waits)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.listing.savedviews import save_view
from crm_platform.reporting.boards import my_board_doc, save_board
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api
from tests.platform.api.reportsupport import user_id
from tests.platform.pages.reports.test_report_pages import signed_in


def _token(client: FlaskClient, path: str = "/reports/by_stage") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def test_a_report_and_a_saved_view_on_her_own_dashboard(
    shops: dict[str, Any], api_app: Flask, api_svc: CrmServices
) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    page = client.get("/reports/by_stage?lang=en")
    # A store manager may not change the shared dashboards: only hers is offered.
    assert re.findall(r'<option value="([a-z_]+)">', page.text) == ["my_dashboard"]
    empty = client.get("/dashboards/my_dashboard")
    assert empty.status_code == 200 and "Add to dashboard" in empty.text
    added = client.post(
        "/dashboards/add",
        data={"csrf_token": _token(client), "source": "report:by_stage", "target": "my_dashboard"},
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("/dashboards/my_dashboard")
    board = client.get("/dashboards/my_dashboard")
    assert 'hx-get="/dashboards/my_dashboard/widgets/0"' in board.text and "Sales by stage" in board.text
    # The widget is titled in the viewer's language, not copied in the language it was added in.
    assert "各阶段销售额" in client.get("/dashboards/my_dashboard?lang=zh-CN").text
    widget = client.get("/dashboards/my_dashboard/widgets/0")
    assert "/e/sale?stage=paid" in widget.text
    # A saved view of hers becomes a short list of its records.
    save_view(
        api_svc.engine,
        user_id(api_svc, "alice"),
        False,
        "sale",
        "Paid ones",
        {"stage": ["paid"]},
        ["code", "amount"],
    )
    edit = client.get("/dashboards/my_dashboard/edit")
    assert edit.status_code == 200 and 'value="view:sale:Paid ones"' in edit.text
    token = _token(client, "/dashboards/my_dashboard/edit")
    saved = client.post(
        "/dashboards/my_dashboard/edit",
        data={"csrf_token": token, "order": ["0"], "width_0": "12", "source": "view:sale:Paid ones"},
    )
    assert saved.status_code == 302
    listed = client.get("/dashboards/my_dashboard/widgets/1")
    assert "订单 · Paid ones" in client.get("/dashboards/my_dashboard?lang=zh-CN").text
    assert "Order · Paid ones" in client.get("/dashboards/my_dashboard?lang=en").text
    assert "A2" in listed.text and "A3" in listed.text and "A1" not in listed.text and "?view=" in listed.text
    # Reorder (the view first), then remove the report.
    client.post("/dashboards/my_dashboard/edit", data={"csrf_token": token, "order": ["1", "0"]})
    assert "A2" in client.get("/dashboards/my_dashboard/widgets/0").text
    client.post(
        "/dashboards/my_dashboard/edit", data={"csrf_token": token, "order": ["0", "1"], "remove": "1"}
    )
    assert "widgets/1" not in client.get("/dashboards/my_dashboard").text
    assert "My dashboard" in client.get("/dashboards?lang=en").text
    # Bob neither sees nor changes hers: his own is empty.
    other = signed_in(api_app, "bob", "bob-password-long-enough")
    assert "widgets/0" not in other.get("/dashboards/my_dashboard").text


def test_only_who_may_configure_changes_a_shared_dashboard(
    board: None, api_app: Flask, admin: Api, user: Api
) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    assert client.get("/dashboards/sales_desk/edit").status_code == 403
    refused = client.post(
        "/dashboards/add",
        data={"csrf_token": _token(client), "source": "report:by_stage", "target": "sales_desk"},
    )
    assert refused.status_code == 302 and len(user.ok("GET", "/dashboards/home")["widgets"]) == 3
    boss = signed_in(api_app, "admin", "admin-password")
    page = boss.get("/reports/by_stage")
    assert '<option value="sales_desk">' in page.text
    boss.post(
        "/dashboards/add",
        data={"csrf_token": _token(boss), "source": "report:by_stage", "target": "sales_desk"},
    )
    # Published at once (nothing else waited): the store manager's home dashboard has the new widget,
    # titled in her language although the administrator added it in English.
    assert len(user.ok("GET", "/dashboards/home")["widgets"]) == 4
    assert user.ok("GET", "/dashboards/home?lang=zh-CN")["widgets"][3]["title"] == "各阶段销售额"
    token = _token(boss, "/dashboards/sales_desk/edit")
    boss.post(
        "/dashboards/sales_desk/edit",
        data={"csrf_token": token, "order": ["3", "0", "1", "2"], "remove": "2"},
    )
    widgets = user.ok("GET", "/dashboards/home")["widgets"]
    assert [w["type"] for w in widgets] == ["report", "number", "report"]


def test_a_title_copied_at_add_time_follows_the_viewers_language(
    shops: dict[str, Any], api_app: Flask, api_svc: CrmServices
) -> None:
    # Dashboards saved before titles followed the reader kept the adding user's words in every language.
    copied = {"en": "Sales by stage", "zh-CN": "Sales by stage"}
    own = {"en": "Our stages", "zh-CN": "我们的阶段"}
    widgets = [
        {"type": "report", "report": "by_stage", "title": copied},
        {"type": "report", "report": "by_stage", "title": own},
    ]
    save_board(api_svc.engine, user_id(api_svc, "alice"), {**my_board_doc(), "widgets": widgets})
    client = signed_in(api_app, "alice", "alice-password")
    page = client.get("/dashboards/my_dashboard?lang=zh-CN").text
    assert "各阶段销售额" in page and "我们的阶段" in page and "Sales by stage" not in page
