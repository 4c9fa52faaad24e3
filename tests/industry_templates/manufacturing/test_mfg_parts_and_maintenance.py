"""Spare parts: usage on work orders decrements stock, the reorder level raises one request; maintenance plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from metamodel.errors import RecordInvalid
from tests.industry_templates.manufacturing.mfgsupport import T0, MfgSite


def part(mfg: MfgSite, part_no: str) -> dict[str, Any]:
    return mfg.by_key("spare_part", "part_no", part_no)


def requests_for(mfg: MfgSite, part_id: int) -> list[tuple[int, str]]:
    return [(r["quantity"], r["status"]) for r in mfg.records("reorder_request", spare_part=part_id)]


def test_parts_used_decrement_stock_and_crossing_the_reorder_level_raises_one_request(mfg: MfgSite) -> None:
    rt = mfg.runtime()
    manager = mfg.actor("mfg_manager")
    gear = rt.create(
        "spare_part",
        {
            "part_no": "SP-GEAR-1",
            "name": "Gear",
            "unit_cost": "10.00",
            "opening_stock": 10,
            "reorder_level": 5,
            "reorder_qty": 12,
        },
        mfg.actor("mfg_warehouse"),
    )
    press = mfg.by_key("equipment", "serial_no", "INJ-H-3321")["id"]
    order = rt.create(
        "work_order",
        {"subject": "Gearbox", "equipment": press, "parts": [{"spare_part": gear["id"], "quantity": 3}]},
        manager,
    )
    assert (part(mfg, "SP-GEAR-1")["stock"], order["parts_cost"]) == (7, "30.00")
    assert part(mfg, "SP-GEAR-1")["below_reorder"] is False
    mfg.clock.advance(minutes=10)
    mfg.run_due()
    assert requests_for(mfg, gear["id"]) == []  # 7 is not below 5
    # The engineer raises the quantity on the job: 10 - 6 = 4 crosses the level.
    engineer = next(
        n for n in ("mfg_eng_zhang", "mfg_eng_li", "mfg_eng_wang") if mfg.uid(n) == order["owner_id"]
    )
    line = order["parts"][0]["id"]
    rt.update(
        "work_order",
        order["id"],
        {"parts": [{"id": line, "spare_part": gear["id"], "quantity": 6}]},
        mfg.actor(engineer),
    )
    assert part(mfg, "SP-GEAR-1")["stock"] == 4
    assert part(mfg, "SP-GEAR-1")["below_reorder"] is True  # the flag follows the roll-up of usage
    assert requests_for(mfg, gear["id"]) == [(12, "open")]  # at once, with the part's reorder quantity
    # The part's own update rule raised it: the stock roll-up moved by the work order is a change of the
    # part (the work order's rule then finds the open request and stays quiet).
    reason = mfg.records("reorder_request", spare_part=gear["id"])[0]["reason"]
    assert reason.endswith("stock 4 below reorder level 5")
    mfg.clock.advance(minutes=10)
    mfg.run_due()
    assert requests_for(mfg, gear["id"]) == [(12, "open")]
    # Falling further while a request is open raises no second one.
    rt.create(
        "work_order",
        {
            "subject": "Second gearbox",
            "equipment": press,
            "parts": [{"spare_part": gear["id"], "quantity": 2}],
        },
        manager,
    )
    mfg.clock.advance(minutes=10)
    mfg.run_due()
    assert (part(mfg, "SP-GEAR-1")["stock"], requests_for(mfg, gear["id"])) == (2, [(12, "open")])
    # Using more than is in stock is refused, and nothing of that save is kept.
    with pytest.raises(RecordInvalid, match="not valid"):
        rt.create(
            "work_order",
            {"subject": "Too many", "equipment": press, "parts": [{"spare_part": gear["id"], "quantity": 3}]},
            manager,
        )
    assert part(mfg, "SP-GEAR-1")["stock"] == 2
    # The warehouse orders and receives: stock rises by the received quantity.
    request = mfg.records("reorder_request", spare_part=gear["id"])[0]["id"]
    mfg.transition("reorder_request", request, "place_order", "mfg_warehouse", supplier="Ningbo Gears")
    mfg.transition("reorder_request", request, "receive", "mfg_warehouse")
    received = part(mfg, "SP-GEAR-1")
    assert (received["received_qty"], received["stock"], received["open_reorders"]) == (12, 14, 0)
    assert received["below_reorder"] is False
    # Removing the part line (or deleting the work order) gives the parts back.
    rt.update("work_order", order["id"], {"parts": []}, manager)
    assert part(mfg, "SP-GEAR-1")["stock"] == 20
    # Editing the part itself (stock or reorder level) raises a request at once, again only one.
    warehouse = mfg.actor("mfg_warehouse")
    rt.update("spare_part", gear["id"], {"opening_stock": 0}, warehouse)
    assert (part(mfg, "SP-GEAR-1")["stock"], len(requests_for(mfg, gear["id"]))) == (10, 1)
    rt.update("spare_part", gear["id"], {"reorder_level": 11}, warehouse)
    assert part(mfg, "SP-GEAR-1")["below_reorder"] is True  # 10 under a raised level of 11
    assert requests_for(mfg, gear["id"]) == [(12, "received"), (12, "open")]
    rt.update("spare_part", gear["id"], {"reorder_level": 12}, warehouse)
    mfg.clock.advance(minutes=10)
    mfg.run_due()
    assert len(requests_for(mfg, gear["id"])) == 2


def test_parts_crossing_together_are_each_reordered_at_once(mfg: MfgSite) -> None:
    rt = mfg.runtime()
    made = [
        rt.create(
            "spare_part", {"part_no": f"SP-T{n}", "name": f"T{n}", "opening_stock": 6, "reorder_level": 5}
        )["id"]
        for n in range(3)
    ]
    press = mfg.by_key("equipment", "serial_no", "INJ-H-3321")["id"]
    order = rt.create("work_order", {"subject": "Overhaul", "equipment": press}, mfg.actor("mfg_manager"))
    engineer = next(
        n for n in ("mfg_eng_zhang", "mfg_eng_li", "mfg_eng_wang") if mfg.uid(n) == order["owner_id"]
    )
    # One save takes three parts below their level: each part's stock roll-up change is an update of that
    # part, so each raises its request at once ...
    rt.update(
        "work_order",
        order["id"],
        {"parts": [{"spare_part": p, "quantity": 2} for p in made]},
        mfg.actor(engineer),
    )
    assert [requests_for(mfg, p) for p in made] == [[(20, "open")]] * 3
    # ... and the sweep every ten minutes finds nothing left to raise.
    mfg.clock.advance(minutes=10)
    mfg.run_due()
    assert [requests_for(mfg, p) for p in made] == [[(20, "open")]] * 3
    mfg.clock.advance(minutes=10)
    assert mfg.run_due().fired == 0


def test_a_maintenance_plan_raises_a_work_order_when_due_and_moves_its_next_due_date(mfg: MfgSite) -> None:
    rt = mfg.runtime()
    compressor = mfg.by_key("equipment", "serial_no", "AIR-C-7710")
    plan = rt.create(
        "maintenance_plan",
        {
            "code": "PM-T",
            "name": "Weekly check",
            "equipment": compressor["id"],
            "interval_days": 7,
            "next_due": (T0.date() + dt.timedelta(days=2)).isoformat(),
            "checklist": "Drain condensate",
        },
        mfg.actor("mfg_manager"),
    )
    mfg.clock.advance(days=1)
    mfg.run_due()
    assert mfg.records("work_order", maintenance_plan=plan["id"]) == []
    mfg.clock.now = dt.datetime.combine(T0.date() + dt.timedelta(days=2), dt.time(0, 5), dt.UTC)
    mfg.run_due()
    [order] = mfg.records("work_order", maintenance_plan=plan["id"])
    assert (order["kind"], order["status"], order["equipment"], order["customer"]) == (
        "preventive",
        "dispatched",
        compressor["id"],
        compressor["customer"],
    )
    assert order["subject"] == "Weekly check (2026-03-04)" and order["description"] == "Drain condensate"
    assert order["owner_id"] in mfg.load()
    moved = rt.get("maintenance_plan", plan["id"])
    assert (moved["next_due"], moved["last_generated"], moved["work_orders"]) == (
        "2026-03-11",
        "2026-03-04",
        1,
    )
    mfg.clock.advance(days=3)
    mfg.run_due()
    assert len(mfg.records("work_order", maintenance_plan=plan["id"])) == 1  # not before the next due date
    rt.update("maintenance_plan", plan["id"], {"active": False}, mfg.actor("mfg_manager"))
    mfg.clock.advance(days=5)
    mfg.run_due()
    assert len(mfg.records("work_order", maintenance_plan=plan["id"])) == 1  # paused plans raise nothing
