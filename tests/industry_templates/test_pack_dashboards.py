"""Each bundled pack's cockpit: its manager signs in to it as her home dashboard, and every widget shows
numbers, rows or records from the pack's sample data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from metamodel.dashboards import period_around
from tests.industry_templates.packsupport import DEMO_PASSWORD, Site, records_of


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


def _hours_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "(extract(epoch FROM completed_at) - extract(epoch FROM reported_at)) / 3600.0"
    return "(CAST(strftime('%s', completed_at) AS INTEGER) - CAST(strftime('%s', reported_at) AS INTEGER)) / 3600.0"


def test_mean_time_to_repair_equals_hand_written_sql(pack_site: Callable[..., Site]) -> None:
    site = pack_site("manufacturing")
    api = site.api("mfg_manager")
    widgets = site.runtime().model.bundle.docs("dashboard")["service_cockpit"]["widgets"]
    (index,) = [i for i, w in enumerate(widgets) if (w.get("measure") or {}).get("since") == "reported_at"]
    data = api.ok("GET", f"/dashboards/service_cockpit/widgets/{index}")
    table = site.runtime().model.entity("work_order").table.name
    span = period_around(site.services.clock(), "month", ZoneInfo(data["time_zone"]))
    with site.services.engine.connect() as conn:
        hours = _hours_sql(conn.dialect.name)
        sql = f"SELECT avg({hours}) FROM {table} WHERE kind = 'repair' AND completed_at >= :low AND completed_at < :high"
        expected = [
            conn.execute(
                sa.text(sql),
                {
                    "low": low.astimezone(dt.UTC).replace(tzinfo=None),
                    "high": high.astimezone(dt.UTC).replace(tzinfo=None),
                },
            ).scalar()
            for low, high in ((span.start, span.end), (span.previous_start, span.start))
        ]
    got = [data["value"], data["previous"]]
    assert [g is None for g in got] == [e is None for e in expected] and got != [None, None]
    assert all(g is None or abs(float(g) - float(e or 0)) < 1e-4 for g, e in zip(got, expected, strict=True))
    # Sample repairs took 24, 6 and 10 hours: whichever months they fall in, the mean is among those.
    assert all(g is None or 6 <= float(g) <= 24 for g in got)


def test_parts_below_reorder_level_are_exactly_those_under_their_level(
    pack_site: Callable[..., Site],
) -> None:
    site = pack_site("manufacturing")
    api = site.api("mfg_manager")
    widgets = site.runtime().model.bundle.docs("dashboard")["service_cockpit"]["widgets"]
    (index,) = [i for i, w in enumerate(widgets) if w.get("entity") == "spare_part"]
    data = api.ok("GET", f"/dashboards/service_cockpit/widgets/{index}?lang=en")
    assert data["columns"][0]["label"] == "Name" and "Reorder level" in [c["label"] for c in data["columns"]]
    table = site.runtime().model.entity("spare_part").table.name
    with site.services.engine.connect() as conn:
        expected = conn.execute(
            sa.text(f"SELECT id FROM {table} WHERE stock < reorder_level ORDER BY stock, id")
        ).scalars()
        below = list(expected)
        parts = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    # The sample data has parts on both sides of their level: the list is not simply "lowest first".
    assert below and len(below) < parts
    assert [item["id"] for item in data["items"]] == below
    assert all(item["stock"] < item["reorder_level"] for item in data["items"])


def _rates(rows: list[dict[str, Any]], key: str, rate: str) -> dict[Any, tuple[float, int]]:
    return {row[key]: (round(float(row[rate]), 4), int(row["count"])) for row in rows}


def test_education_rates_equal_hand_written_sql(pack_site: Callable[..., Site]) -> None:
    site = pack_site("education")
    api = site.api()
    model = site.runtime().model
    attendance, enrollment = model.entity("attendance").table.name, model.entity("enrollment").table.name
    leads = model.entity("edu_lead").table.name
    by_class = api.ok("POST", "/reports/attendance_by_class/run")["rows"]
    by_advisor = api.ok("POST", "/reports/trial_conversion_by_advisor/run")["rows"]
    with site.services.engine.connect() as conn:
        # The class is found through the enrolment here, not through the report's stored link.
        classes = conn.execute(
            sa.text(
                f"SELECT e.edu_class, avg(CASE WHEN a.status IN ('present', 'late') THEN 100.0 ELSE 0 END),"
                f" count(*) FROM {attendance} a JOIN {enrollment} e ON e.id = a.enrollment GROUP BY e.edu_class"
            )
        ).all()
        advisors = conn.execute(
            sa.text(
                f"SELECT owner_id, avg(CASE WHEN status = 'won' THEN 100.0 ELSE 0 END), count(*) FROM {leads}"
                " WHERE status IN ('trial_booked', 'won') GROUP BY owner_id"
            )
        ).all()
    expected_classes = {c: (round(float(r), 4), int(n)) for c, r, n in classes}
    assert _rates(by_class, "edu_class", "avg__attended_pct") == expected_classes
    assert any(0 < rate < 100 for rate, _ in expected_classes.values())  # the sample has absences
    expected_advisors = {o: (round(float(r), 4), int(n)) for o, r, n in advisors}
    assert _rates(by_advisor, "owner", "avg__enrolled_pct") == expected_advisors and expected_advisors


def test_a_list_widget_names_linked_records_by_their_title(pack_site: Callable[..., Site]) -> None:
    site = pack_site("education")
    api = site.api("edu_director")
    widgets = site.runtime().model.bundle.docs("dashboard")["campus_cockpit"]["widgets"]
    (index,) = [i for i, w in enumerate(widgets) if w.get("entity") == "enrollment" and w["type"] == "list"]
    items = api.ok("GET", f"/dashboards/campus_cockpit/widgets/{index}")["items"]
    names = {s["id"]: s["name"] for s in records_of(site, "student")}
    assert items and [i["_titles"]["student"] for i in items] == [names[i["student"]] for i in items]
    page = site.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/login").text)
    assert token
    signed = {"username": "edu_director", "password": DEMO_PASSWORD, "csrf_token": token[1]}
    assert page.post("/login", data=signed).status_code == 302
    html = page.get(f"/dashboards/campus_cockpit/widgets/{index}?lang=en").text
    assert all(f">{names[i['student']]}</a>" in html for i in items), html
