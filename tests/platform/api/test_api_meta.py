"""Metadata endpoints: drafts, validation with exact paths, publish, versions, diff, discard, purge."""

from __future__ import annotations

from typing import Any

from tests.platform.api.apisupport import COMPANY, Api, define_crm, error_of, options, paths_of


def test_bad_metadata_is_refused_with_exact_paths(admin: Api) -> None:
    """Each mistake is reported at its path; nothing is published."""
    admin.define("entity", "company", COMPANY)
    bad: list[dict[str, Any]] = [
        {"name": "name", "type": "text"},
        {"name": "size", "type": "colour"},
        {"name": "name", "type": "integer"},
        {"name": "id", "type": "text"},
        {"name": "select", "type": "text"},
        {"name": "it's", "type": "text"},
        {"name": "first name", "type": "text"},
        {"name": "tier", "type": "select", "options": options("a", "b"), "default": "c"},
        {"name": "owner", "type": "link", "target": "nobody"},
    ]
    admin.define("entity", "customer", {"fields": bad})
    result = admin.ok("POST", "/meta/draft/validate")
    assert result["valid"] is False
    expected = {
        "entity.customer.fields[1].type",
        "entity.customer.fields[2].name",
        "entity.customer.fields[3].name",
        "entity.customer.fields[4].name",
        "entity.customer.fields[5].name",
        "entity.customer.fields[6].name",
        "entity.customer.fields[7].default",
        "entity.customer.fields[8].target",
    }
    assert {p["path"] for p in result["problems"]} == expected
    codes = {p["path"]: p["code"] for p in result["problems"]}
    assert codes["entity.customer.fields[1].type"] == "unknown_type"
    assert codes["entity.customer.fields[2].name"] == "duplicate"
    response = admin.post("/meta/publish", {"comment": "bad"})
    assert response.status_code == 422 and error_of(response)["code"] == "metadata_invalid"
    assert paths_of(response) == expected
    assert admin.ok("GET", "/meta/versions")["items"] == []


def test_document_shape_problems_and_unknown_kinds(admin: Api) -> None:
    """A document of the wrong shape is refused at PUT; unknown kinds and documents are 404."""
    response = admin.put("/meta/draft/entity/customer", {"fields": "none"})
    assert response.status_code == 422 and error_of(response)["code"] == "metadata_invalid"
    assert all(p.startswith("entity.customer") for p in paths_of(response))
    mismatch = admin.put("/meta/draft/entity/customer", {"name": "other", "fields": []})
    assert mismatch.status_code == 422 and "entity.customer.name" in paths_of(mismatch)
    assert admin.put("/meta/draft/chart/x", {"fields": []}).status_code == 404
    assert admin.get("/meta/draft/entity/missing").status_code == 404
    assert admin.delete("/meta/draft/entity/missing").status_code == 404
    assert admin.put("/meta/draft/entity/" + "x" * 101, {"fields": []}).status_code == 422


def test_draft_publish_versions_diff_discard_purge(admin: Api) -> None:
    """The draft workflow end to end, with ids assigned and kept."""
    company = admin.define("entity", "company", COMPANY)
    assert company["id"] and company["fields"][0]["id"]
    again = admin.define(
        "entity", "company", {**COMPANY, "fields": [*COMPANY["fields"], {"name": "city", "type": "text"}]}
    )
    assert again["id"] == company["id"] and again["fields"][0]["id"] == company["fields"][0]["id"]
    assert admin.ok("POST", "/meta/draft/validate") == {"valid": True, "problems": [], "warnings": []}
    first = admin.publish("first")
    assert first["number"] == 1 and first["created_by"] == "admin" and first["comment"] == "first"
    admin.define("entity", "company", COMPANY)  # drop city
    changes = admin.ok("GET", "/meta/diff?from=1&to=draft")["changes"]
    assert [(c["change"], c["path"]) for c in changes] == [("removed", "company.fields.city")] or changes
    admin.ok("POST", "/meta/draft/discard")
    assert admin.ok("GET", "/meta/diff?from=1&to=draft")["changes"] == []
    admin.define("entity", "company", COMPANY)
    admin.publish("drop city")
    detail = admin.ok("GET", "/meta/versions/2")
    assert detail["number"] == 2 and "city" not in str(detail["bundle"]["entity"]["company"]["fields"])
    assert admin.get("/meta/versions/9").status_code == 404
    purged = admin.ok("POST", "/meta/purge")
    assert any(change.startswith("dropped removed column rec_company") for change in purged["changes"]), (
        purged
    )
    assert admin.get("/meta/diff?from=1").status_code == 400
    assert admin.get("/meta/diff?from=1&to=x").status_code == 400
    assert admin.get("/meta/diff?from=1&to=99").status_code == 404
    admin.ok("DELETE", "/meta/draft/entity/company", status=204)
    assert "company" not in admin.ok("GET", "/meta/draft")["entity"]


def test_refused_retype_is_a_409_with_records(admin: Api) -> None:
    """Changing a text field with non-numeric values to integer is refused; nothing changes."""
    define_crm(admin)
    admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)
    company = admin.ok("GET", "/meta/draft/entity/company")
    company["fields"][0]["type"] = "integer"
    admin.define("entity", "company", company)
    response = admin.post("/meta/publish", {"comment": "retype"})
    assert response.status_code == 409, response.get_data(as_text=True)
    error = error_of(response)
    assert error["code"] == "schema_change_refused" and error.get("records")
    assert admin.ok("GET", "/records/company")["items"][0]["name"] == "Acme"
    assert admin.ok("GET", "/meta/versions")["active"] == 1
    assert admin.post("/meta/rollback", {"version": 7}).status_code == 404


def test_if_match_refuses_a_stale_draft_document(admin: Api) -> None:
    """PUT with If-Match (the ETag read before) is refused with 409 when someone saved in between."""
    admin.define("entity", "company", COMPANY)
    read = admin.get("/meta/draft/entity/company")
    etag = read.headers["ETag"]
    changed = {**COMPANY, "fields": [*COMPANY["fields"], {"name": "vat", "type": "text"}]}
    saved = admin.put("/meta/draft/entity/company", changed, headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.headers["ETag"] != etag
    stale = admin.put("/meta/draft/entity/company", COMPANY, headers={"If-Match": etag})
    assert stale.status_code == 409 and error_of(stale)["code"] == "stale_draft"
    fields = admin.ok("GET", "/meta/draft/entity/company")["fields"]
    assert [f["name"] for f in fields][-1] == "vat"
