"""A report and a dashboard shipped in a pack: installed with it, changed by its upgrade (merged with the
site's own changes like any other document) and restored by a metadata rollback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from industry_templates.upgrade import upgrade_pack
from tests.industry_templates.packsupport import Site, copy_pack, edit_json, fixture_pack

REPORT_10 = {
    "name": "visits_by_month",
    "entity": "visit",
    "label": {"en": "Visits by month", "zh-CN": "每月到店"},
    "query": {
        "dimensions": [{"field": "visited_on", "bucket": "month"}],
        "measures": [{"function": "count"}],
    },
    "chart": {"type": "bar"},
}
# 1.1 adds a measure and draws a line.
REPORT_11 = {
    **REPORT_10,
    "query": {
        "dimensions": [{"field": "visited_on", "bucket": "month"}],
        "measures": [{"function": "count"}, {"function": "sum", "field": "total"}],
    },
    "chart": {"type": "line"},
}
DASHBOARD_10: dict[str, Any] = {
    "name": "shop_cockpit",
    "label": {"en": "Shop cockpit", "zh-CN": "门店驾驶舱"},
    "roles": ["store_manager"],
    "home": True,
    "widgets": [
        {
            "type": "number",
            "title": {"en": "Visits", "zh-CN": "到店次数"},
            "entity": "visit",
            "measure": {"function": "count"},
        },
        {"type": "report", "report": "visits_by_month", "width": 12},
    ],
}
DASHBOARD_11 = {
    **DASHBOARD_10,
    "widgets": [
        *DASHBOARD_10["widgets"],
        {
            "type": "list",
            "title": {"en": "Latest visits", "zh-CN": "最近到店"},
            "entity": "visit",
            "columns": ["member", "visited_on", "total"],
            "sort": "-visited_on",
        },
    ],
}


def _pack(tmp_path: Path, version: str, report: dict[str, Any], dashboard: dict[str, Any]) -> Path:
    folder = copy_pack(fixture_pack(f"tinyshop-{version}"), tmp_path / f"tinyshop-{version}")
    for kind, doc in (("report", report), ("dashboard", dashboard)):
        path = folder / "metadata" / kind / f"{doc['name']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", "utf-8")
        edit_json(path, lambda data, doc=doc: data.update(doc))
    return folder


def _shipped(site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = site.services.metadata.model().bundle
    return bundle.docs("report")["visits_by_month"], bundle.docs("dashboard")["shop_cockpit"]


def _run(site: Site) -> list[dict[str, Any]]:
    result = site.api().ok("GET", "/reports/visits_by_month/run")
    return [
        {c["key"]: row[c["key"]] for c in result["columns"] if c["kind"] == "measure"}
        for row in result["rows"]
    ]


def test_a_packs_report_and_dashboard_install_upgrade_and_roll_back(
    pack_site: Callable[..., Site], tmp_path: Path
) -> None:
    v10 = _pack(tmp_path, "1.0", REPORT_10, DASHBOARD_10)
    v11 = _pack(tmp_path, "1.1", REPORT_11, DASHBOARD_11)
    site = pack_site(v10)
    installed = site.services.metadata.active_version()
    assert installed is not None
    report, dashboard = _shipped(site)
    assert report["query"] == REPORT_10["query"] and len(dashboard["widgets"]) == 2
    # Installed means usable: the report runs on the sample visits, the manager's home is the cockpit.
    assert sum(row["count"] for row in _run(site)) == 2
    assert site.api("ts_manager").ok("GET", "/dashboards/home")["name"] == "shop_cockpit"
    admin = site.api()
    assert admin.ok("GET", "/dashboards/shop_cockpit/widgets/0")["value"] == 2
    assert admin.ok("GET", "/dashboards/shop_cockpit/widgets/1")["rows"]

    # The site renames the report; the pack's upgrade changes its query and chart, and the dashboard.
    meta = site.services.metadata
    renamed = meta.draft().docs("report")["visits_by_month"]
    renamed["label"]["en"] = "Footfall by month"
    meta.put_document("report", "visits_by_month", renamed, "admin")
    customised = meta.publish("admin", "our own report name").number

    upgrade = upgrade_pack(site.services, v11, actor=site.admin)
    assert upgrade.conflicts == [] and upgrade.metadata_version is not None
    assert {"report.visits_by_month.query", "report.visits_by_month.chart"} <= set(upgrade.applied)
    report, dashboard = _shipped(site)
    assert report["query"] == REPORT_11["query"] and report["chart"] == {"type": "line"}
    assert report["label"] == {"en": "Footfall by month", "zh-CN": "每月到店"}  # the site's change is kept
    assert [w["type"] for w in dashboard["widgets"]] == ["number", "report", "list"]
    assert {key for row in _run(site) for key in row} == {"count", "sum__total"}
    assert admin.ok("GET", "/dashboards/shop_cockpit/widgets/2")["items"]

    # A rollback restores the report and the dashboard as they were in that version, and back again.
    meta.rollback(customised, "admin")
    report, dashboard = _shipped(site)
    assert report["query"] == REPORT_10["query"] and report["chart"] == {"type": "bar"}
    assert report["label"]["en"] == "Footfall by month" and len(dashboard["widgets"]) == 2
    assert {key for row in _run(site) for key in row} == {"count"}
    assert admin.get("/dashboards/shop_cockpit/widgets/2").status_code == 404
    meta.rollback(installed, "admin")
    assert _shipped(site)[0]["label"]["en"] == "Visits by month"
    meta.rollback(upgrade.metadata_version, "admin")
    report, dashboard = _shipped(site)
    assert report["chart"] == {"type": "line"} and len(dashboard["widgets"]) == 3
