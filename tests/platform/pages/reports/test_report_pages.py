"""The report and dashboard pages over the API tests' shops: home dashboard, widgets one by one, report
page with its chart data and drill-down links, CSV and XLSX downloads."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.platform.api.apisupport import Api
from tests.platform.api.reportsupport import REPAIR


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": found.group(1)}
    )
    assert response.status_code == 302
    return client


def test_home_dashboard_and_widgets(board: None, api_app: Flask, user: Api) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    home = client.get("/?lang=en")
    assert home.status_code == 200
    assert "Sales desk" in home.text and 'hx-get="/dashboards/sales_desk/widgets/0"' in home.text
    number = client.get("/dashboards/sales_desk/widgets/0")
    assert "crm-number-big" in number.text and "Last month" in number.text
    chart = client.get("/dashboards/sales_desk/widgets/1")
    assert "crm-chart-data" in chart.text or "report-table" in chart.text
    assert "/e/sale?" in chart.text
    listed = client.get("/dashboards/sales_desk/widgets/2")
    assert "/e/sale/" in listed.text
    missing = client.get("/dashboards/sales_desk/widgets/9")
    assert missing.status_code == 200 and "crm-widget-error" in missing.text
    assert client.get("/?apps=1").status_code == 200
    boards = client.get("/dashboards?lang=zh-CN")
    assert boards.status_code == 200 and "<title>驾驶舱 · " in boards.text
    assert 'class="card card-link crm-tile dashboard-link" href="/dashboards/sales_desk"' in boards.text
    assert "我的驾驶舱" in boards.text and 'href="/dashboards/my_dashboard"' in boards.text


def test_report_page_and_exports(board: None, api_app: Flask, user: Api) -> None:
    client = signed_in(api_app, "alice", "alice-password")
    listing = client.get("/reports?lang=zh-CN")
    assert listing.status_code == 200 and "/reports/by_stage" in listing.text
    assert 'class="card card-link crm-tile report-link" href="/reports/by_stage"' in listing.text
    assert (
        "各阶段销售额" in listing.text
        and "订单 · 柱状图" in listing.text
        and "ti-chart-bar fs-2" in listing.text
    )
    page = client.get("/reports/by_stage")
    assert page.status_code == 200 and "drill" in page.text
    csv = client.get("/reports/by_stage/export.csv")
    if csv.status_code == 200:
        assert csv.data.startswith("\ufeff".encode())
        xlsx = client.get("/reports/by_stage/export.xlsx")
        sheet: Any = load_workbook(io.BytesIO(xlsx.data)).active
        assert sheet.max_row >= 2
    else:
        assert csv.status_code == 403
    assert client.get("/reports/nope").status_code == 404


def test_earliest_and_latest_moments_read_in_the_site_zone_not_as_iso(
    shops: dict[str, Any], api_app: Flask, admin: Api
) -> None:
    admin.define("entity", "repair", REPAIR)
    admin.define(
        "report",
        "repair_span",
        {
            "entity": "repair",
            "label": {"en": "Repair span", "zh-CN": "报修时间范围"},
            "query": {
                "measures": [
                    {"function": "min", "field": "reported_at"},
                    {"function": "max", "field": "reported_at"},
                ]
            },
            "chart": {"type": "table"},
        },
    )
    admin.publish("repairs")
    admin.ok("PATCH", "/settings", {"time_zone": "Asia/Shanghai"})
    for moment in ("2026-11-02T08:00:00Z", "2026-11-03T20:15:00Z"):
        admin.ok("POST", "/records/repair", {"reported_at": moment}, status=201)
    page = signed_in(api_app, "admin", "admin-password").get("/reports/repair_span?lang=en")
    assert page.status_code == 200
    cells = re.findall(r'<td class="text-end crm-num"><a [^>]*class="drill">([^<]*)</a></td>', page.text)
    # 08:00 UTC is 16:00 in Shanghai; 20:15 UTC on the 3rd is 04:15 on the 4th there.
    assert cells == ["2026-11-02 16:00", "2026-11-04 04:15"], cells
    assert "T08:00:00" not in page.text.split("crm-chart-data")[0]
    # The API keeps the exact moments for programs.
    rows = admin.ok(
        "POST",
        "/reports/run",
        {"entity": "repair", "query": {"measures": [{"function": "max", "field": "reported_at"}]}},
    )["rows"]
    assert rows[0]["max__reported_at"].startswith("2026-11-03T20:15")
