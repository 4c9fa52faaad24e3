"""Saved list views over the API: personal by default, shared to roles only by an administrator."""

from __future__ import annotations

from tests.platform.api.apisupport import Api, define_crm


def test_save_list_share_and_delete_views(admin: Api, user: Api) -> None:
    define_crm(admin)
    mine = user.ok(
        "POST",
        "/views/customer",
        {"name": "Gold", "query": {"tier": ["gold"], "cursor": ["x"]}, "columns": ["name", "tier"]},
        status=201,
    )
    assert mine["query"] == {"tier": ["gold"]} and mine["columns"] == ["name", "tier"]  # paging is not kept
    refused = user.post("/views/customer", {"name": "All", "shared_roles": ["sales"]})
    assert refused.status_code == 400 and "administrator" in refused.get_data(as_text=True)
    admin.ok("POST", "/access/roles", {"name": "sales"}, status=201)
    assert admin.post("/views/customer", {"name": "Team", "shared_roles": ["nosuch"]}).status_code == 400
    team = admin.ok("POST", "/views/customer", {"name": "Team", "shared_roles": ["sales"]}, status=201)
    assert [v["name"] for v in user.ok("GET", "/views/customer")["items"]] == ["Gold"]
    assert [v["name"] for v in admin.ok("GET", "/views/customer")["items"]] == ["Team"]
    assert user.delete(f"/views/customer/{team['id']}").status_code == 404  # not hers
    assert user.delete(f"/views/customer/{mine['id']}").status_code == 204
    assert user.ok("GET", "/views/customer")["items"] == []
    assert user.get("/views/nosuch").status_code == 404
    assert user.post("/views/customer", {"name": "x", "query": {"tier": "gold"}}).status_code == 400
