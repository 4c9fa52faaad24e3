"""Records through the API: links, child lines, validation, optimistic locking, delete rules, lookup, files."""

from __future__ import annotations

import io

from tests.platform.api.apisupport import Api, define_crm, error_of, paths_of


def test_link_and_child_lines(admin: Api) -> None:
    """Create with lines, update lines, delete a line; link titles come back in _titles."""
    define_crm(admin)
    acme = admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)["id"]
    body = {
        "name": "Ada",
        "company": acme,
        "lines": [{"product": "Pen", "qty": 2, "price": "1.50"}, {"product": "Ink", "qty": 1}],
    }
    created = admin.ok("POST", "/records/customer", body, status=201)
    assert created["_titles"] == {"company": "Acme"}
    assert [(ln["product"], ln["qty"], ln["price"]) for ln in created["lines"]] == [
        ("Pen", 2, "1.50"),
        ("Ink", 1, None),
    ]
    pen, ink = created["lines"]
    lines = [{**pen, "qty": 5}, {"product": "Pad", "qty": 3}]
    updated = admin.ok("PATCH", f"/records/customer/{created['id']}", {"lines": lines, "lock_version": 1})
    assert [(ln["product"], ln["qty"]) for ln in updated["lines"]] == [("Pen", 5), ("Pad", 3)]
    assert updated["lines"][0]["id"] == pen["id"] and ink["product"] not in [
        ln["product"] for ln in updated["lines"]
    ]
    assert updated["lock_version"] == 2 and updated["name"] == "Ada"
    foreign = admin.patch(f"/records/customer/{created['id']}", {"lines": [{"id": 999, "product": "X"}]})
    assert foreign.status_code == 422 and paths_of(foreign) == {"lines[0].id"}
    bad_line = admin.patch(f"/records/customer/{created['id']}", {"lines": [{"qty": "many"}]})
    assert bad_line.status_code == 422 and paths_of(bad_line) == {"lines[0].qty", "lines[0].product"}
    missing = admin.post("/records/customer", {"name": "Bob", "company": 999})
    assert missing.status_code == 422 and paths_of(missing) == {"company"}
    assert admin.ok("GET", "/records/company/lookup?q=ac") == [{"id": acme, "title": "Acme"}]
    assert admin.ok("GET", "/records/customer/lookup?limit=1") == [{"id": created["id"], "title": "Ada"}]
    blocked = admin.delete(f"/records/company/{acme}")
    assert blocked.status_code == 409 and error_of(blocked)["blocking"]["entity"] == "customer"
    admin.ok("DELETE", f"/records/customer/{created['id']}", status=204)
    admin.ok("DELETE", f"/records/company/{acme}", status=204)
    assert admin.get(f"/records/company/{acme}").status_code == 404
    assert admin.get("/records/customer_line").status_code == 404


def test_bad_record_input_names_every_field(admin: Api) -> None:
    """One problem per bad field, with its path."""
    define_crm(admin)
    response = admin.post(
        "/records/customer",
        {
            "email": "not-an-email",
            "age": 1000,
            "score": "1.234",
            "active": "perhaps",
            "birthday": "1990-13-45",
            "tier": "platinum",
            "tags": ["vip", "nope"],
            "website": "ftp://x",
            "extra": {"ok": 1},
            "unknown": 1,
        },
    )
    assert response.status_code == 422 and error_of(response)["code"] == "validation_failed"
    assert paths_of(response) == {
        "name",
        "email",
        "age",
        "score",
        "active",
        "birthday",
        "tier",
        "tags",
        "website",
        "unknown",
    }


def test_optimistic_locking_put_and_etag(admin: Api) -> None:
    """A stale lock_version or If-Match is a 409; PUT replaces every field."""
    define_crm(admin)
    record = admin.call("POST", "/records/customer", {"name": "Ada", "age": 30, "notes": "hi"})
    assert record.headers["ETag"] == '"1"'
    path = record.headers["Location"].removeprefix("/api/v1")
    got = admin.get(path)
    assert got.headers["ETag"] == '"1"'
    assert admin.ok("PATCH", path, {"age": 31}, headers={"If-Match": '"1"'})["lock_version"] == 2
    stale = admin.patch(path, {"age": 32}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and error_of(stale)["code"] == "conflict"
    assert admin.patch(path, {"age": 32, "lock_version": 1}).status_code == 409
    replaced = admin.ok("PUT", path, {"name": "Ada B", "lock_version": 2})
    assert replaced["name"] == "Ada B" and replaced["age"] is None and replaced["notes"] is None
    assert replaced["tier"] is None and replaced["lock_version"] == 3
    assert admin.put(path, {"age": 3, "lock_version": 3}).status_code == 422  # name is required on PUT
    assert admin.delete(path, headers={"If-Match": '"1"'}).status_code == 409
    admin.ok("DELETE", path, status=204, headers={"If-Match": '"3"'})


def test_attachments_upload_and_download(admin: Api) -> None:
    """Size and type rules of the field are enforced; downloads are never rendered inline."""
    define_crm(admin)

    def upload(name: str, data: bytes, content_type: str = "text/plain", field: str = "contract"):
        return admin.call(
            "POST",
            f"/records/customer/attachments?field={field}",
            data={"file": (io.BytesIO(data), name, content_type)},
        )

    stored = upload("terms.txt", b"<script>alert(1)</script>", "text/html")
    assert stored.status_code == 201, stored.get_data(as_text=True)
    info = stored.get_json()
    assert info["filename"] == "terms.txt" and info["size"] == 25 and info["content_type"] == "text/html"
    download = admin.get(f"/attachments/{info['id']}")
    assert download.status_code == 200 and download.data == b"<script>alert(1)</script>"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    too_big = upload("big.txt", b"x" * 1001)
    assert too_big.status_code == 413 and error_of(too_big)["code"] == "too_large"
    wrong_type = upload("run.exe", b"MZ", "application/octet-stream")
    assert wrong_type.status_code == 422 and paths_of(wrong_type) == {"contract"}
    assert upload("a.txt", b"x", field="name").status_code == 422
    assert upload("a.txt", b"x", field="nope").status_code == 422
    assert admin.post("/records/customer/attachments?field=contract", {"file": "x"}).status_code == 400
    assert admin.post("/records/customer/attachments?field=contract", data={}).status_code == 400
    assert admin.get("/attachments/999").status_code == 404
    assert admin.get("/attachments/abc").status_code == 404
    traversal = upload("../../etc/passwd.txt", b"x")
    assert traversal.status_code == 201 and traversal.get_json()["filename"] == "passwd.txt"
    record = admin.ok("POST", "/records/customer", {"name": "Ada", "contract": info["id"]}, status=201)
    assert record["contract"] == info["id"]


def test_problems_follow_the_callers_language_and_keep_their_codes(admin: Api) -> None:
    define_crm(admin)
    body = {"name": "Ada", "email": "not-an-email", "age": 1000, "score": "1.234", "birthday": "1990-13-45"}
    english = error_of(admin.post("/records/customer", body))
    chinese = error_of(admin.post("/records/customer?lang=zh-CN", body))
    said = {d["path"]: d["message"] for d in english["details"]}
    assert said["email"] == "is not a valid e-mail address"
    worded = {d["path"]: (d["message"], d["code"]) for d in chinese["details"]}
    assert worded["email"] == (
        "不是有效的电子邮件地址",
        {d["path"]: d["code"] for d in english["details"]}["email"],
    )
    assert worded["birthday"][0] == "必须是日期，例如 2026-01-31"
    assert worded["age"][0].startswith("不能大于 ")
    assert "位小数" in worded["score"][0]
    assert chinese["code"] == english["code"] == "validation_failed"
