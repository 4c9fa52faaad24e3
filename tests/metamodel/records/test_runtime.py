"""RecordRuntime: create, read, update and delete records, with checks, locking, links and child lines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from metamodel.errors import Conflict, NotFound, RecordInvalid
from metamodel.records.hooks import Actor, DeleteEvent, RecordHooks, SaveEvent
from metamodel.records.query import ListQuery
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import attachments
from tests.metamodel.mmsupport import T0, Site, entity, select_field

COMPANY = entity(
    "company",
    [
        {"name": "name", "type": "text", "required": True},
        {"name": "vat", "type": "text", "unique": True},
        select_field("tier", ["small", "big"], default="small"),
        {"name": "employees", "type": "integer", "min": 0},
        {"name": "logo", "type": "attachment"},
    ],
    title_field="name",
)


def problems(error: RecordInvalid) -> dict[str, str]:
    return {p.path: p.message for p in error.problems}


@pytest.fixture
def runtime(site: Site) -> RecordRuntime:
    return site.publish([COMPANY])


def test_create_and_get(site: Site, runtime: RecordRuntime) -> None:
    created = runtime.create(
        "company", {"name": " Acme ", "employees": "12"}, Actor(user_id=7, username="ann")
    )
    assert created == {
        "id": 1,
        "record_no": None,
        "lock_version": 1,
        "owner_id": 7,
        "created_at": "2026-03-02T09:00:00Z",
        "created_by": 7,
        "updated_at": "2026-03-02T09:00:00Z",
        "updated_by": 7,
        "name": "Acme",
        "vat": None,
        "tier": "small",  # the default
        "employees": 12,
        "logo": None,
        "_titles": {},
    }
    assert runtime.get("company", 1) == created
    [row] = site.rows("rec_company", "name", "tier", "employees", "lock_version", "owner_id")
    assert row == {"name": "Acme", "tier": "small", "employees": 12, "lock_version": 1, "owner_id": 7}
    with pytest.raises(NotFound, match="company 2 does not exist"):
        runtime.get("company", 2)
    with pytest.raises(NotFound, match="entity 'person' does not exist"):
        runtime.get("person", 1)


def test_owner_can_be_given(runtime: RecordRuntime) -> None:
    assert runtime.create("company", {"name": "A", "owner_id": "5"}, Actor(user_id=7))["owner_id"] == 5
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "A", "owner_id": "boss"})
    assert problems(caught.value) == {"owner_id": "must be a user id"}


def test_update_changes_only_given_fields(site: Site, runtime: RecordRuntime) -> None:
    record = runtime.create("company", {"name": "Acme", "vat": "V1", "tier": "big"})
    site.clock.now = T0 + dt.timedelta(hours=2)
    updated = runtime.update(
        "company", record["id"], {"employees": 40, "id": 99, "lock_version": 1}, Actor(user_id=3)
    )
    assert (updated["name"], updated["vat"], updated["tier"], updated["employees"]) == (
        "Acme",
        "V1",
        "big",
        40,
    )
    assert updated["lock_version"] == 2 and updated["id"] == record["id"]  # read-only keys are ignored
    assert (updated["created_at"], updated["updated_at"]) == ("2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z")
    assert (updated["created_by"], updated["updated_by"]) == (None, 3)
    cleared = runtime.update("company", record["id"], {"vat": "", "tier": None})
    assert (cleared["vat"], cleared["tier"], cleared["lock_version"]) == (None, None, 3)
    assert site.rows("rec_company", "vat", "tier", "employees") == [
        {"vat": None, "tier": None, "employees": 40}
    ]
    with pytest.raises(NotFound):
        runtime.update("company", 99, {"name": "x"})


def test_stale_lock_version_is_refused_and_nothing_is_overwritten(site: Site, runtime: RecordRuntime) -> None:
    record = runtime.create("company", {"name": "Acme"})
    mine = runtime.get("company", record["id"])
    theirs = runtime.update(
        "company", record["id"], {"name": "Acme Corp"}, expected_version=mine["lock_version"]
    )
    assert theirs["lock_version"] == 2
    with pytest.raises(Conflict) as caught:
        runtime.update(
            "company",
            record["id"],
            {"name": "Acme Ltd", "employees": 3},
            expected_version=mine["lock_version"],
        )
    assert caught.value.extra == {"current_version": 2}
    assert "was changed by someone else (version 2, you had 1)" in caught.value.message
    assert site.rows("rec_company", "name", "employees", "lock_version") == [
        {"name": "Acme Corp", "employees": None, "lock_version": 2}
    ]
    with pytest.raises(Conflict):
        runtime.delete("company", record["id"], expected_version=1)
    assert runtime.get("company", record["id"])["name"] == "Acme Corp"
    runtime.update("company", record["id"], {"name": "Acme Ltd"}, expected_version=2)
    runtime.delete("company", record["id"], expected_version=3)
    assert site.rows("rec_company") == []


def test_unknown_fields_are_refused(site: Site, runtime: RecordRuntime) -> None:
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "Acme", "colour": "red", "Name": "x"})
    assert caught.value.message == "the company record is not valid"
    assert [(p.path, p.message, p.code) for p in caught.value.problems] == [
        ("colour", "unknown field 'colour'", "unknown_field"),
        ("Name", "unknown field 'Name'", "unknown_field"),
    ]
    record = runtime.create("company", {"name": "Acme"})
    with pytest.raises(RecordInvalid):
        runtime.update("company", record["id"], {"name": "Other", "colour": "red"})
    assert site.rows("rec_company", "name", "lock_version") == [{"name": "Acme", "lock_version": 1}]
    with pytest.raises(RecordInvalid, match="must be a JSON object"):
        runtime.create("company", ["name", "Acme"])  # type: ignore[arg-type]


def test_required_fields(runtime: RecordRuntime) -> None:
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"employees": -1})
    assert problems(caught.value) == {"name": "is required", "employees": "must be at least 0"}
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "   "})
    assert problems(caught.value) == {"name": "is required"}
    record = runtime.create("company", {"name": "Acme"})
    assert runtime.update("company", record["id"], {"employees": 5})["name"] == "Acme"  # not given: kept
    with pytest.raises(RecordInvalid) as caught:
        runtime.update("company", record["id"], {"name": None})
    assert [(p.path, p.code) for p in caught.value.problems] == [("name", "required")]


def test_unique_violation_names_the_other_record(site: Site, runtime: RecordRuntime) -> None:
    first = runtime.create("company", {"name": "A", "vat": "DE123"})
    second = runtime.create("company", {"name": "B", "vat": "DE456"})
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "C", "vat": "DE123"})
    assert [(p.path, p.message, p.code) for p in caught.value.problems] == [
        ("vat", f"must be unique; company {first['id']} already has this value", "unique")
    ]
    with pytest.raises(RecordInvalid):
        runtime.update("company", second["id"], {"vat": "DE123"})
    assert (
        runtime.update("company", first["id"], {"vat": "DE123", "name": "A2"})["name"] == "A2"
    )  # itself is fine
    assert [r["vat"] for r in site.rows("rec_company", "vat")] == ["DE123", "DE456"]


def test_the_database_backs_up_the_unique_check(site: Site, runtime: RecordRuntime) -> None:
    runtime.create("company", {"name": "A", "vat": "X"})
    table = runtime.model.entity("company").table
    row = {"lock_version": 1, "created_at": T0, "updated_at": T0, "name": "B", "vat": "X"}
    with site.engine.begin() as conn:
        with pytest.raises(Conflict, match="clashes with another record"):
            runtime._insert(conn, runtime.model.entity("company"), row)  # a racing writer skipping the check
        # the savepoint kept the caller's transaction usable
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 1


def test_attachment_fields_must_reference_stored_files(site: Site, runtime: RecordRuntime) -> None:
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "A", "logo": 5})
    assert problems(caught.value) == {"logo": "attachment 5 does not exist"}
    with site.engine.begin() as conn:
        file_id = conn.execute(
            attachments.insert().values(
                filename="logo.png",
                content_type="image/png",
                size=1,
                sha256="0" * 64,
                storage_key="k",
                created_at=T0,
            )
        ).inserted_primary_key[0]
    assert runtime.create("company", {"name": "A", "logo": file_id})["logo"] == file_id


def test_a_callers_transaction_is_used_and_can_be_rolled_back(site: Site, runtime: RecordRuntime) -> None:
    with site.engine.connect() as conn:
        with conn.begin() as transaction:
            record = runtime.create("company", {"name": "Ghost"}, conn=conn)
            assert runtime.get("company", record["id"], conn=conn)["name"] == "Ghost"
            transaction.rollback()
    assert site.rows("rec_company") == []


# --- links ----------------------------------------------------------------------------------------


def linked(on_delete: str) -> list[dict[str, Any]]:
    return [
        COMPANY,
        entity(
            "person",
            [
                {"name": "name", "type": "text"},
                {"name": "employer", "type": "link", "target": "company", "on_delete": on_delete},
            ],
            title_field="name",
        ),
        entity("badge", [{"name": "holder", "type": "link", "target": "person", "on_delete": "cascade"}]),
    ]


def test_link_must_point_at_an_existing_record(site: Site) -> None:
    runtime = site.publish(linked("restrict"))
    acme = runtime.create("company", {"name": "Acme"})
    ann = runtime.create("person", {"name": "Ann", "employer": {"id": acme["id"]}})
    assert (ann["employer"], ann["_titles"]) == (acme["id"], {"employer": "Acme"})
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("person", {"name": "Bob", "employer": 999})
    assert [(p.path, p.message, p.code) for p in caught.value.problems] == [
        ("employer", "company 999 does not exist", "reference")
    ]
    with pytest.raises(RecordInvalid) as caught:
        runtime.update("person", ann["id"], {"employer": "acme"})
    assert problems(caught.value) == {"employer": "must be a record id"}
    assert runtime.titles("company", [acme["id"], 999]) == {acme["id"]: "Acme"}


def test_on_delete_restrict_refuses_while_referenced(site: Site) -> None:
    runtime = site.publish(linked("restrict"))
    acme = runtime.create("company", {"name": "Acme"})
    for name in ("Ann", "Bob"):
        runtime.create("person", {"name": name, "employer": acme["id"]})
    with pytest.raises(Conflict) as caught:
        runtime.delete("company", acme["id"])
    assert caught.value.message == (
        "company 1 is still used by 2 person record(s) (field employer); change or delete them first"
    )
    assert caught.value.extra == {"blocking": {"entity": "person", "field": "employer", "count": 2}}
    assert len(site.rows("rec_company")) == 1 and len(site.rows("rec_person")) == 2
    for person in runtime.list("person", ListQuery()).items:
        runtime.update("person", person["id"], {"employer": None})
    runtime.delete("company", acme["id"])
    assert site.rows("rec_company") == []


def test_on_delete_set_null_clears_the_links(site: Site) -> None:
    runtime = site.publish(linked("set_null"))
    acme = runtime.create("company", {"name": "Acme"})
    other = runtime.create("company", {"name": "Other"})
    ann = runtime.create("person", {"name": "Ann", "employer": acme["id"]})
    bob = runtime.create("person", {"name": "Bob", "employer": other["id"]})
    runtime.delete("company", acme["id"])
    assert runtime.get("person", ann["id"])["employer"] is None
    assert runtime.get("person", bob["id"])["employer"] == other["id"]
    assert [r["name"] for r in site.rows("rec_company", "name")] == ["Other"]


def test_on_delete_cascade_deletes_referencing_records_recursively(site: Site) -> None:
    runtime = site.publish(linked("cascade"))
    acme = runtime.create("company", {"name": "Acme"})
    other = runtime.create("company", {"name": "Other"})
    ann = runtime.create("person", {"name": "Ann", "employer": acme["id"]})
    bob = runtime.create("person", {"name": "Bob", "employer": other["id"]})
    runtime.create("badge", {"holder": ann["id"]})
    kept = runtime.create("badge", {"holder": bob["id"]})
    deleted: list[tuple[str, int]] = []
    runtime.hooks.after_delete.append(lambda event: deleted.append((event.entity.name, event.record["id"])))
    runtime.delete("company", acme["id"])
    assert deleted == [("badge", 1), ("person", ann["id"]), ("company", acme["id"])]
    assert [r["name"] for r in site.rows("rec_person", "name")] == ["Bob"]
    assert [r["id"] for r in site.rows("rec_badge", "id")] == [kept["id"]]
    with pytest.raises(NotFound):
        runtime.delete("company", acme["id"])


# --- child tables ---------------------------------------------------------------------------------

INVOICE = [
    entity("product", [{"name": "name", "type": "text"}], title_field="name"),
    entity(
        "invoice",
        [
            {"name": "ref", "type": "text", "required": True},
            {"name": "lines", "type": "child_table", "child_entity": "invoice_line", "max_rows": 5},
        ],
        title_field="ref",
    ),
    entity(
        "invoice_line",
        [
            {"name": "product", "type": "link", "target": "product"},
            {"name": "qty", "type": "integer", "required": True, "min": 1},
            {"name": "price", "type": "decimal"},
        ],
        is_child=True,
    ),
]


@pytest.fixture
def invoices(site: Site) -> RecordRuntime:
    runtime = site.publish(INVOICE)
    for name in ("Pen", "Ink", "Pad"):
        runtime.create("product", {"name": name})
    return runtime


def line_values(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(line["line_no"], line["product"], line["qty"], line["price"]) for line in record["lines"]]


def test_child_lines_are_created_with_the_parent(site: Site, invoices: RecordRuntime) -> None:
    created = invoices.create(
        "invoice",
        {"ref": "O-1", "lines": [{"product": 1, "qty": 2, "price": "1.50"}, {"product": 2, "qty": "1"}]},
    )
    assert line_values(created) == [(1, 1, 2, "1.50"), (2, 2, 1, None)]
    assert created["lines"][0]["_titles"] == {"product": "Pen"}
    assert set(created["lines"][0]) == {"id", "line_no", "product", "qty", "price", "_titles"}
    assert invoices.get("invoice", created["id"]) == created
    rows = site.rows("rec_invoice_line", "parent_id", "parent_field", "line_no", "qty")
    assert rows == [
        {"parent_id": created["id"], "parent_field": "lines", "line_no": 1, "qty": 2},
        {"parent_id": created["id"], "parent_field": "lines", "line_no": 2, "qty": 1},
    ]
    assert invoices.create("invoice", {"ref": "O-2"})["lines"] == []
    with pytest.raises(NotFound, match="'invoice_line' records only exist as lines of their parent"):
        invoices.create("invoice_line", {"qty": 1})


def test_child_lines_are_updated_added_and_removed_through_the_parent(
    site: Site, invoices: RecordRuntime
) -> None:
    order = invoices.create(
        "invoice",
        {
            "ref": "O-1",
            "lines": [{"product": 1, "qty": 1}, {"product": 2, "qty": 2}, {"product": 3, "qty": 3}],
        },
    )
    first, second, third = (line["id"] for line in order["lines"])
    other = invoices.create("invoice", {"ref": "O-2", "lines": [{"product": 1, "qty": 9}]})
    updated = invoices.update(
        "invoice",
        order["id"],
        {
            "lines": [
                {"id": third, "product": 3, "qty": 30},
                {"product": 2, "qty": 5, "price": "2"},
                {"id": first, "product": 1, "qty": 1},
            ]
        },
    )
    assert [line["id"] for line in updated["lines"]] == [
        third,
        max(third, other["lines"][0]["id"]) + 1,
        first,
    ]
    assert line_values(updated) == [(1, 3, 30, None), (2, 2, 5, "2.00"), (3, 1, 1, None)]
    assert second not in {r["id"] for r in site.rows("rec_invoice_line", "id")}
    assert invoices.get("invoice", other["id"])["lines"][0]["qty"] == 9  # another order's lines are untouched
    # an update that does not mention the lines leaves them alone
    assert line_values(invoices.update("invoice", order["id"], {"ref": "O-1b"})) == line_values(updated)
    assert invoices.update("invoice", order["id"], {"lines": []})["lines"] == []
    assert len(site.rows("rec_invoice_line")) == 1


def test_child_line_problems_name_the_line(site: Site, invoices: RecordRuntime) -> None:
    order = invoices.create("invoice", {"ref": "O-1", "lines": [{"product": 1, "qty": 1}]})
    other = invoices.create("invoice", {"ref": "O-2", "lines": [{"product": 1, "qty": 1}]})
    with pytest.raises(RecordInvalid) as caught:
        invoices.update(
            "invoice",
            order["id"],
            {
                "lines": [
                    {"product": 1, "qty": 0},
                    {"product": 99, "qty": 1, "colour": "red"},
                    {"id": other["lines"][0]["id"], "qty": 1},
                    {"price": "1.001"},
                ]
            },
        )
    assert problems(caught.value) == {
        "lines[0].qty": "must be at least 1",
        "lines[1].colour": "unknown field 'colour'",
        "lines[1].product": "product 99 does not exist",
        "lines[2].id": f"line {other['lines'][0]['id']} is not a line of this record",
        "lines[3].qty": "is required",
        "lines[3].price": "must have at most 2 decimal places",
    }
    with pytest.raises(RecordInvalid) as caught:
        invoices.create("invoice", {"ref": "O-3", "lines": [{"qty": 1}] * 6})
    assert problems(caught.value) == {"lines": "must have at most 5 lines"}
    with pytest.raises(RecordInvalid) as caught:
        invoices.create("invoice", {"ref": "O-3", "lines": {"qty": 1}})
    assert problems(caught.value) == {"lines": "must be a list of line objects"}
    assert invoices.get("invoice", order["id"])["lines"][0]["qty"] == 1  # nothing written
    assert len(site.rows("rec_invoice")) == 2


def test_deleting_the_parent_deletes_its_lines(site: Site, invoices: RecordRuntime) -> None:
    order = invoices.create(
        "invoice", {"ref": "O-1", "lines": [{"product": 1, "qty": 1}, {"product": 2, "qty": 1}]}
    )
    keep = invoices.create("invoice", {"ref": "O-2", "lines": [{"product": 1, "qty": 1}]})
    invoices.delete("invoice", order["id"])
    assert [r["parent_id"] for r in site.rows("rec_invoice_line", "parent_id")] == [keep["id"]]
    with pytest.raises(Conflict, match="still used by 1 invoice_line record"):
        invoices.delete("product", 1)  # lines link to products with the default on_delete: restrict


# --- hooks ----------------------------------------------------------------------------------------


def test_hooks_see_and_shape_writes(site: Site) -> None:
    seen: list[tuple[str, str, int | None]] = []

    def before(event: SaveEvent) -> None:
        if event.values.get("name") == "forbidden":
            event.problems.add("name", "is not allowed here", "policy")
        event.values["employees"] = 1 if event.action == "create" else event.values.get("employees")

    def after(event: SaveEvent) -> None:
        seen.append((event.action, event.entity.name, event.record_id))

    def no_delete(event: DeleteEvent) -> None:
        if event.record["name"] == "keep":
            raise Conflict("keep is kept")

    def own_only(model: Any, actor: Actor) -> Any:
        return None if actor.is_admin else model.table.c.owner_id == actor.user_id

    hooks = RecordHooks(
        before_save=[before], after_save=[after], before_delete=[no_delete], query_scopes=[own_only]
    )
    site.publish([COMPANY])
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    ann, bob, admin = Actor(user_id=1), Actor(user_id=2), Actor(user_id=3, is_admin=True)
    keep = runtime.create("company", {"name": "keep"}, ann)
    assert keep["employees"] == 1
    with pytest.raises(RecordInvalid) as caught:
        runtime.create("company", {"name": "forbidden"}, ann)
    assert problems(caught.value) == {"name": "is not allowed here"}
    with pytest.raises(NotFound):
        runtime.get("company", keep["id"], bob)  # outside bob's scope
    with pytest.raises(NotFound):
        runtime.update("company", keep["id"], {"name": "mine"}, bob)
    assert runtime.list("company", ListQuery(), bob).items == []
    assert [r["name"] for r in runtime.list("company", ListQuery(), admin).items] == ["keep"]
    runtime.update("company", keep["id"], {"employees": 5}, ann)
    assert seen == [("create", "company", keep["id"]), ("update", "company", keep["id"])]
    with pytest.raises(Conflict, match="keep is kept"):
        runtime.delete("company", keep["id"], admin)
    assert len(site.rows("rec_company")) == 1
