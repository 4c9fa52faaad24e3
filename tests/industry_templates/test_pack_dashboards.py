"""Each bundled pack's cockpit: its manager signs in to it as her home dashboard, and every widget shows
numbers, rows or records from the pack's sample data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.industry_templates.packsupport import Site


@pytest.mark.parametrize(
    ("pack", "manager", "dashboard"),
    [
        ("retail", "sh01_manager", "retail_cockpit"),
        ("retail", "retail_marketing", "retail_cockpit"),
        ("manufacturing", "mfg_manager", "service_cockpit"),
        ("education", "edu_director", "campus_cockpit"),
    ],
)
def test_the_managers_home_dashboard_shows_the_sample_data(
    pack_site: Callable[..., Site], pack: str, manager: str, dashboard: str
) -> None:
    site = pack_site(pack)
    api = site.api(manager)
    home = api.ok("GET", "/dashboards/home")
    assert home["name"] == dashboard and len(home["widgets"]) >= 6
    empty = []
    for widget in home["widgets"]:
        data = api.ok("GET", f"/dashboards/{dashboard}/widgets/{widget['index']}")
        if data["type"] == "number":
            shown = data["value"] not in (None, 0) or data["previous"] not in (None, 0)
        elif data["type"] == "report":
            shown = bool(data["rows"])
        else:
            shown = bool(data["items"])
        if not shown:
            empty.append(widget["title"])
    assert empty == []
    # The same answers for the manager of another store are hers, not this one's (scope applies).
    assert api.ok("GET", "/reports")["items"]
