"""The pack through the REST API: what an engineer is offered and may do, what the warehouse may do."""

from __future__ import annotations

from tests.industry_templates.manufacturing.mfgsupport import MfgSite


def test_an_engineer_works_only_their_own_work_orders_through_the_api(mfg: MfgSite) -> None:
    api = mfg.site.api("mfg_eng_zhang")
    listed = api.ok("GET", "/records/work_order?sort=id")["items"]
    mine = {o["id"] for o in mfg.records("work_order") if o["owner_id"] == mfg.uid("mfg_eng_zhang")}
    assert listed and {o["id"] for o in listed} == mine
    other = next(o["id"] for o in mfg.records("work_order") if o["id"] not in mine)
    assert api.get(f"/records/work_order/{other}").status_code == 404
    assert api.patch(f"/records/work_order/{other}", {"description": "x"}).status_code == 404
    order = min(mine)
    offered = api.ok("GET", f"/records/work_order/{order}/transitions")["transitions"]
    assert [t["name"] for t in offered] == ["start"]  # not dispatch or close: those are the manager's
    api.ok("POST", f"/records/work_order/{order}/transitions/start", {"comment": "on site"})
    belt = mfg.by_key("spare_part", "part_no", "SP-BLT-A42")
    before = belt["stock"]
    lines = [
        {k: line[k] for k in ("id", "spare_part", "quantity")}
        for line in api.ok("GET", f"/records/work_order/{order}")["parts"]
    ]
    api.ok(
        "PATCH",
        f"/records/work_order/{order}",
        {"parts": [*lines, {"spare_part": belt["id"], "quantity": 1}]},
    )
    assert mfg.by_key("spare_part", "part_no", "SP-BLT-A42")["stock"] == before - 1
    refused = api.post(f"/records/work_order/{order}/transitions/complete", {})
    assert refused.status_code == 422 and "resolution" in refused.get_data(as_text=True)
    done = api.ok(
        "POST",
        f"/records/work_order/{order}/transitions/complete",
        {"values": {"resolution": "Belt replaced"}},
    )
    assert done["record"]["status"] == "done" and done["record"]["completed_at"] is not None
    assert api.post(f"/records/work_order/{order}/transitions/close", {}).status_code == 403
    assert api.patch(f"/records/spare_part/{belt['id']}", {"opening_stock": 99}).status_code == 403


def test_the_warehouse_orders_and_receives_reorder_requests_through_the_api(mfg: MfgSite) -> None:
    api = mfg.site.api("mfg_warehouse")
    nozzle = mfg.by_key("spare_part", "part_no", "SP-NZL-0402")
    [request] = api.ok("GET", f"/records/reorder_request?spare_part={nozzle['id']}")["items"]
    api.ok(
        "POST",
        f"/records/reorder_request/{request['id']}/transitions/place_order",
        {"values": {"supplier": "深圳吸嘴厂"}},
    )
    api.ok("POST", f"/records/reorder_request/{request['id']}/transitions/receive", {})
    restocked = api.ok("GET", f"/records/spare_part/{nozzle['id']}")
    assert (restocked["stock"], restocked["open_reorders"]) == (3 + 10, 0)
    assert api.get("/records/maintenance_plan").status_code == 403
