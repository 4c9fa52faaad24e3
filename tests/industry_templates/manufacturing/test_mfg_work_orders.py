"""Work orders: auto-dispatch to the least-loaded engineer, 48-hour escalation, engineers see only their own."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.access.errors import AccessDenied
from metamodel.errors import NotFound
from rule_engine.workflow.errors import TransitionForbidden, TransitionIncomplete
from tests.industry_templates.manufacturing.mfgsupport import MfgSite


def new_order(mfg: MfgSite, subject: str, username: str = "mfg_manager") -> dict[str, Any]:
    equipment = mfg.by_key("equipment", "serial_no", "INJ-H-3321")
    return mfg.runtime().create(
        "work_order", {"subject": subject, "equipment": equipment["id"]}, mfg.actor(username)
    )


def test_a_new_work_order_is_dispatched_to_the_least_loaded_engineer(mfg: MfgSite) -> None:
    load = mfg.load()
    lightest = min(load, key=lambda user: (load[user], user))
    order = new_order(mfg, "Hydraulic leak")
    stored = mfg.runtime().get("work_order", order["id"])
    assert (stored["owner_id"], stored["status"], stored["dispatched_at"]) == (
        lightest,
        "dispatched",
        "2026-03-02T09:00:00Z",
    )
    assert stored["under_warranty"] is True  # installed 60 days ago with 18 months of warranty
    assert any(m["user_id"] == lightest and m["record_id"] == order["id"] for m in mfg.inbox())
    # Now everyone carries two; finishing work lightens an engineer, who gets the next one.
    assert sorted(mfg.load().values()) == [2, 2, 2]
    busiest = max(mfg.load(), key=lambda user: (mfg.load()[user], -user))
    name = next(n for n in ("mfg_eng_zhang", "mfg_eng_li", "mfg_eng_wang") if mfg.uid(n) == busiest)
    mine = mfg.records("work_order", name)
    mfg.transition("work_order", mine[0]["id"], "start", name)
    mfg.transition("work_order", mine[0]["id"], "complete", name, resolution="Replaced the bearing")
    assert mfg.runtime().get("work_order", new_order(mfg, "Second leak")["id"])["owner_id"] == busiest


def test_a_work_order_not_progressed_for_48_hours_is_escalated_once(mfg: MfgSite) -> None:
    forgotten = new_order(mfg, "Forgotten")
    started = new_order(mfg, "Started")
    owner = next(
        n for n in ("mfg_eng_zhang", "mfg_eng_li", "mfg_eng_wang") if mfg.uid(n) == started["owner_id"]
    )
    mfg.clock.advance(hours=30)
    mfg.transition("work_order", started["id"], "start", owner)
    before = len(mfg.inbox())
    mfg.clock.advance(hours=17, minutes=59)
    mfg.run_due()
    assert mfg.runtime().get("work_order", forgotten["id"])["escalated"] is False  # 47:59 after dispatch
    mfg.clock.advance(minutes=1)
    mfg.run_due()
    escalated = mfg.runtime().get("work_order", forgotten["id"])
    assert (escalated["escalated"], escalated["priority"], escalated["escalated_at"]) == (
        True,
        "urgent",
        "2026-03-04T09:00:00Z",
    )
    assert mfg.runtime().get("work_order", started["id"])["escalated"] is False
    # The open sample orders were dispatched at the same moment: all five are escalated too (and the one
    # finished sample order that was escalated before).
    assert sum(o["escalated"] for o in mfg.records("work_order")) == 7
    notes = [m for m in mfg.inbox()[before:] if m["record_id"] == forgotten["id"]]
    managers = {mfg.uid("mfg_manager"), mfg.uid("mfg_east_manager")}
    assert {m["user_id"] for m in notes} == managers | {forgotten["owner_id"]}
    assert "escalated" in notes[0]["subject"]
    mfg.clock.advance(days=5)
    mfg.run_due()
    assert (
        sum(m["record_id"] == forgotten["id"] for m in mfg.inbox()) == len(notes) + 1
    )  # + the dispatch note


def test_an_engineer_sees_and_changes_only_their_own_work_orders(mfg: MfgSite) -> None:
    rt = mfg.runtime()
    zhang, li = mfg.actor("mfg_eng_zhang"), mfg.actor("mfg_eng_li")
    mine = mfg.records("work_order", "mfg_eng_zhang")
    theirs = mfg.records("work_order", "mfg_eng_li")
    assert mine and theirs and {o["owner_id"] for o in mine} == {zhang.user_id}
    assert {o["owner_id"] for o in theirs} == {li.user_id}
    with pytest.raises(NotFound):
        rt.get("work_order", theirs[0]["id"], zhang)
    with pytest.raises(NotFound):
        rt.update("work_order", theirs[0]["id"], {"description": "not mine"}, zhang)
    with pytest.raises(NotFound):
        mfg.transition("work_order", theirs[0]["id"], "start", "mfg_eng_zhang")
    order = mine[0]["id"]
    rt.update("work_order", order, {"description": "Checked on site"}, zhang)
    mfg.transition("work_order", order, "start", "mfg_eng_zhang")
    with pytest.raises(TransitionIncomplete):
        mfg.transition("work_order", order, "complete", "mfg_eng_zhang")  # needs a resolution
    mfg.transition("work_order", order, "complete", "mfg_eng_zhang", resolution="Tightened the belt")
    with pytest.raises(TransitionForbidden):
        mfg.transition("work_order", order, "close", "mfg_eng_zhang")  # closing is the manager's
    with pytest.raises(AccessDenied):
        rt.create("work_order", {"subject": "x", "equipment": mine[0]["equipment"]}, zhang)
    with pytest.raises(AccessDenied):
        rt.update(
            "spare_part",
            mfg.by_key("spare_part", "part_no", "SP-BLT-A42")["id"],
            {"opening_stock": 99},
            zhang,
        )
    mfg.transition("work_order", order, "close", "mfg_manager")
    assert rt.get("work_order", order)["status"] == "closed"


def test_service_managers_see_their_org_subtree(mfg: MfgSite) -> None:
    everything = mfg.records("work_order")
    east = {mfg.uid("mfg_eng_zhang"), mfg.uid("mfg_eng_li")}
    assert len(mfg.records("work_order", "mfg_manager")) == len(everything)  # HQ: the whole tree
    seen = mfg.records("work_order", "mfg_east_manager")
    # A work order's service center decides; one without a center follows its owner's unit.
    expected = {
        o["id"]
        for o in everything
        if o["service_center"] == "mfg_east" or (o["service_center"] is None and o["owner_id"] in east)
    }
    assert seen and {o["id"] for o in seen} == expected
    assert any(o["service_center"] == "mfg_north" for o in everything)
    assert mfg.records("work_order", "mfg_warehouse") == everything  # reads work orders to issue parts
    # The north center's work order moves east: east's manager sees it whoever owns it.
    north_order = next(o for o in everything if o["service_center"] == "mfg_north")
    mfg.runtime().update("work_order", north_order["id"], {"service_center": "mfg_east"})
    seen = mfg.records("work_order", "mfg_east_manager")
    assert north_order["id"] in {o["id"] for o in seen}
