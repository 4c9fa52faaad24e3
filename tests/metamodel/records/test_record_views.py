"""RecordHooks.record_views and field_guards: every returned record is shaped, used fields are vetted."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.errors import BadQuery
from metamodel.model import EntityModel
from metamodel.records.hooks import Actor, FieldUse, RecordHooks
from metamodel.records.query import Filter, ListQuery
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity

ENTITIES = [
    entity("product", [{"name": "name", "type": "text", "searchable": True}], title_field="name"),
    entity(
        "invoice",
        [
            {"name": "ref", "type": "text", "required": True, "searchable": True},
            {"name": "secret", "type": "text", "searchable": True},
            {"name": "lines", "type": "child_table", "child_entity": "invoice_line"},
        ],
        title_field="ref",
    ),
    entity(
        "invoice_line",
        [{"name": "product", "type": "link", "target": "product"}, {"name": "qty", "type": "integer"}],
        is_child=True,
    ),
]
ANN = Actor(user_id=7, username="ann")


def hide(model: EntityModel, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
    """A view for ann: no invoice secret, product names masked, line quantities hidden."""
    if actor.user_id != 7:
        return record
    shown = dict(record)
    if model.name == "invoice":
        shown.pop("secret", None)
    if model.name == "product" and shown.get("name"):
        shown["name"] = shown["name"][:1] + "***"
    if model.name == "invoice_line":
        shown.pop("qty", None)
    return shown


class Guard:
    """Refuses filters and sorts on ``secret``; leaves it out of searches; drops unchanged writes of it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, frozenset[str]]] = []

    def __call__(self, use: FieldUse) -> set[str]:
        self.seen.append((use.entity.name, use.purpose, use.fields))
        if use.actor.user_id != 7 or use.entity.name != "invoice" or "secret" not in use.fields:
            return set()
        if use.purpose in ("filter", "sort"):
            raise BadQuery(f"you may not {use.purpose} by secret")
        if use.purpose == "write":
            assert use.values is not None
            if use.before is not None and use.values.get("secret") == use.before.get("secret"):
                return {"secret"}
            raise BadQuery("you may not change secret")
        return {"secret"}


@pytest.fixture
def guarded(site: Site) -> tuple[RecordRuntime, Guard]:
    site.publish(ENTITIES)
    guard = Guard()
    hooks = RecordHooks(record_views=[hide], field_guards=[guard])
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    runtime.create("product", {"name": "Pen"})
    runtime.create("invoice", {"ref": "O-1", "secret": "gold", "lines": [{"product": 1, "qty": 3}]})
    return runtime, guard


def test_views_shape_get_list_lines_titles_and_write_results(guarded: tuple[RecordRuntime, Guard]) -> None:
    runtime, _ = guarded
    full = runtime.get("invoice", 1)
    assert full["secret"] == "gold" and full["lines"][0]["qty"] == 3
    assert full["lines"][0]["_titles"] == {"product": "Pen"}
    mine = runtime.get("invoice", 1, ANN)
    assert "secret" not in mine and "qty" not in mine["lines"][0]
    assert mine["lines"][0]["_titles"] == {"product": "P***"}  # the linked product's title is its masked name
    [item] = runtime.list("invoice", ListQuery(), ANN).items
    assert "secret" not in item and item["ref"] == "O-1"
    assert runtime.list("product", ListQuery(), ANN).items[0]["name"] == "P***"
    assert runtime.titles("product", [1], actor=ANN) == {1: "P***"}
    assert runtime.titles("product", [1]) == {1: "Pen"}
    assert "secret" not in runtime.update("invoice", 1, {"ref": "O-1b"}, ANN)
    assert "secret" not in runtime.create("invoice", {"ref": "O-2"}, ANN)


def test_guards_refuse_filters_and_sorts_and_narrow_searches(guarded: tuple[RecordRuntime, Guard]) -> None:
    runtime, guard = guarded
    with pytest.raises(BadQuery, match="filter by secret"):
        runtime.list("invoice", ListQuery(filters=[Filter("secret", "eq", "gold")]), ANN)
    with pytest.raises(BadQuery, match="sort by secret"):
        runtime.list("invoice", ListQuery(sort="secret"), ANN)
    assert runtime.list("invoice", ListQuery(search="gold"), ANN).items == []  # not searched for ann
    assert [r["id"] for r in runtime.list("invoice", ListQuery(search="gold")).items] == [1]
    assert [r["id"] for r in runtime.list("invoice", ListQuery(search="O-1"), ANN).items] == [1]
    assert ("invoice", "search", frozenset({"ref", "secret"})) in guard.seen


def test_guards_vet_written_fields(guarded: tuple[RecordRuntime, Guard]) -> None:
    runtime, guard = guarded
    with pytest.raises(BadQuery, match="may not change secret"):
        runtime.update("invoice", 1, {"secret": "lead"}, ANN)
    runtime.update("invoice", 1, {"secret": "gold", "ref": "O-9"}, ANN)  # an unchanged echo is dropped
    assert runtime.get("invoice", 1)["secret"] == "gold"
    assert runtime.get("invoice", 1)["ref"] == "O-9"
    assert ("invoice", "write", frozenset({"secret", "ref"})) in guard.seen
    runtime.update("invoice", 1, {"secret": "lead"})  # the system is not ann
    assert runtime.get("invoice", 1)["secret"] == "lead"
