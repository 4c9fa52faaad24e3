"""The manufacturing pack installs on an empty database with its roles, org, team and live sample data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from industry_templates.installer import validate_pack
from tests.industry_templates.manufacturing.mfgsupport import ENGINEERS, T0, MfgSite, mfg_site
from tests.industry_templates.packsupport import Site, fixture_pack


def test_the_pack_validates() -> None:
    assert validate_pack("manufacturing") == []


def test_install_from_empty_database_with_sample_data(mfg: MfgSite) -> None:
    counts = {
        e: len(mfg.records(e))
        for e in ("mfg_customer", "equipment", "spare_part", "maintenance_plan", "work_order")
    }
    assert counts == {
        "mfg_customer": 4,
        "equipment": 6,
        "spare_part": 6,
        "maintenance_plan": 3,
        "work_order": 8,
    }
    # Every open sample work order was auto-dispatched, spread over the three engineers of the team; the
    # three past ones (finished, for the mean time to repair) stay as they were recorded.
    orders = mfg.records("work_order")
    assert [o["status"] for o in orders].count("dispatched") == 5
    assert sorted(o["status"] for o in orders if o["status"] != "dispatched") == ["closed", "done", "done"]
    assert sorted(mfg.load().values()) == [1, 2, 2]
    assert all(o["dispatched_at"] == "2026-03-02T09:00:00Z" for o in orders if o["status"] == "dispatched")
    # Relative dates are alive: installed 500 days ago (2024-10-18) with 24 months of warranty.
    cnc = mfg.by_key("equipment", "serial_no", "CNC-5X-2301")
    assert cnc["install_date"] == (T0.date() - dt.timedelta(days=500)).isoformat()
    assert cnc["warranty_until"] == "2026-10-17" and cnc["open_work_orders"] == 1
    spindle = orders[0]
    assert (spindle["customer"], spindle["under_warranty"], spindle["parts_cost"]) == (
        cnc["customer"],
        True,
        "206.50",
    )
    # Parts used on the sample work orders came off stock.
    bearing = mfg.by_key("spare_part", "part_no", "SP-BRG-6205")
    belt = mfg.by_key("spare_part", "part_no", "SP-BLT-A42")
    assert (bearing["used_qty"], bearing["stock"]) == (2, 38)
    assert (belt["used_qty"], belt["stock"]) == (3, 4)
    # The nozzle was stocked below its reorder level: a request was raised when it was created; the
    # belt went below its level with the second sample work order: a request was raised at once.
    nozzle = mfg.by_key("spare_part", "part_no", "SP-NZL-0402")
    requests = mfg.records("reorder_request")
    assert [(r["spare_part"], r["quantity"], r["status"]) for r in requests] == [
        (nozzle["id"], 10, "open"),
        (belt["id"], 20, "open"),
    ]
    assert nozzle["open_reorders"] == 1
    # Demo users hold the pack's roles; the warehouse heard about the reorder.
    assert {m["user_id"] for m in mfg.inbox() if m["entity"] == "spare_part"} == {mfg.uid("mfg_warehouse")}
    assert len({mfg.uid(name) for name in ENGINEERS}) == 3


def test_first_scheduler_pass_raises_the_maintenance_due_today_and_nothing_twice(mfg: MfgSite) -> None:
    mfg.clock.advance(minutes=10)
    report = mfg.run_due()
    assert report.errors == [] and report.fired == 1
    assert len(mfg.records("reorder_request")) == 2  # the sweep finds every low part already requested
    plan = mfg.by_key("maintenance_plan", "code", "PM-CNC-Q")
    generated = mfg.records("work_order", maintenance_plan=plan["id"])
    assert [(o["kind"], o["status"]) for o in generated] == [("preventive", "dispatched")]
    assert plan["next_due"] == (T0.date() + dt.timedelta(days=90)).isoformat()
    mfg.clock.advance(minutes=10)
    assert mfg.run_due().fired == 0


def test_install_without_sample_data_writes_no_records(pack_site: Callable[..., Site]) -> None:
    bare = mfg_site(pack_site(), sample=False)
    assert all(not bare.records(e) for e in ("mfg_customer", "equipment", "spare_part", "work_order"))
    assert bare.site.reports[0].roles == ["engineer", "service_manager", "warehouse"]


def test_installs_next_to_another_pack_and_both_keep_working(pack_site: Callable[..., Site]) -> None:
    both = mfg_site(pack_site(fixture_pack("tinyshop-1.0")))
    assert [r.name for r in both.site.reports] == ["tinyshop", "manufacturing"]
    entities = both.site.services.metadata.model().entities
    assert {"store", "member", "work_order", "spare_part"} <= set(entities)
    assert len(both.records("member")) == 2 and len(both.records("work_order")) == 8
    assert sorted(both.load().values()) == [1, 2, 2]
