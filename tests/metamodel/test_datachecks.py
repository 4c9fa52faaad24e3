"""Issue 15 items 1 and 2: data-dependent checks at validate, option removal refused or mapped at publish."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metamodel.definitions import Bundle
from metamodel.errors import MetadataInvalid, SchemaChangeRefused
from rule_engine.testing.world import World, entity, make_world, select_field

BASE: dict[str, Any] = {
    "entity": {
        "lead": entity(
            "lead",
            [
                {"name": "name", "type": "text"},
                select_field("source", ["web", "fair", "phone"]),
                {
                    "name": "tags",
                    "type": "multi_select",
                    "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}],
                },
                {"name": "code", "type": "text"},
                {"name": "note", "type": "text"},
            ],
            title_field="name",
        )
    }
}


def _draft(world: World, change: Any) -> dict[str, Any]:
    bundle = copy.deepcopy(world.metadata.draft().to_json())
    fields = {f["name"]: f for f in bundle["entity"]["lead"]["fields"]}
    change(fields)
    world.metadata.replace_draft(Bundle.from_json(bundle), "test")
    return bundle


@pytest.fixture
def world(db_url: str) -> World:
    world = make_world(db_url, BASE)
    rt = world.runtime()
    rt.create("lead", {"name": "Ann", "source": "fair", "tags": ["a", "b"], "code": "X", "note": "short"})
    rt.create("lead", {"name": "Bob", "source": "fair", "tags": ["b"], "code": "X", "note": "a" * 40})
    rt.create("lead", {"name": "Cy", "source": "web"})
    return world


def _drop(fields: dict[str, Any], name: str, option: str) -> bool:
    fields[name]["options"] = [o for o in fields[name]["options"] if o["value"] != option]
    return True


def test_removed_option_in_use_is_refused_with_counts(world: World) -> None:
    _draft(world, lambda f: (_drop(f, "source", "fair"), _drop(f, "tags", "b")))
    problems, findings = world.metadata.check_draft_data()
    assert not problems
    found = {(f.code, f.values["field"], f.values.get("option")): f for f in findings}
    source = found[("option_in_use", "source", "fair")]
    assert (source.severity, source.values["count"]) == ("error", 2)
    assert [(r["id"], r["title"]) for r in source.records] == [(1, "Ann"), (2, "Bob")]
    assert found[("option_in_use", "tags", "b")].values["count"] == 2
    # observed: published silently, records kept 'fair'
    with pytest.raises(SchemaChangeRefused) as refused:
        world.metadata.publish("test")
    assert refused.value.extra["findings"][0]["count"] == 2
    assert world.runtime().get("lead", 1)["source"] == "fair"


def test_option_map_is_applied_in_the_publish(world: World) -> None:
    _draft(world, lambda f: (_drop(f, "source", "fair"), _drop(f, "tags", "b")))
    remap = {"lead": {"source": {"fair": "phone"}, "tags": {"b": "a"}}}
    assert world.metadata.check_draft_data(remap) == ([], [])
    world.metadata.publish("test", remap=remap)
    rt = world.runtime()
    ann, bob = rt.get("lead", 1), rt.get("lead", 2)
    assert (ann["source"], ann["tags"]) == ("phone", ["a"]) and ann["lock_version"] > 1
    assert (bob["source"], bob["tags"]) == ("phone", ["a"])
    assert rt.get("lead", 3)["lock_version"] == 1
    rt.update("lead", 1, {"name": "Ann B"})  # saveable again


def test_an_option_map_to_a_removed_option_is_refused(world: World) -> None:
    _draft(world, lambda f: _drop(f, "source", "fair"))
    problems, _ = world.metadata.check_draft_data({"lead": {"source": {"fair": "gone"}}})
    assert [p.path for p in problems] == ["remap.lead.source.fair"]
    with pytest.raises(MetadataInvalid):
        world.metadata.publish("test", remap={"lead": {"source": {"fair": "gone"}}})


def test_every_data_check_runs_at_validate(world: World) -> None:
    def change(f: dict[str, Any]) -> None:
        f["name"]["required"] = True  # nobody lacks a name
        f["note"]["required"] = True
        f["note"]["max_length"] = 10
        f["code"]["unique"] = True
        f["name"]["type"] = "integer"

    _draft(world, change)
    _, findings = world.metadata.check_draft_data()
    got = {(f.code, f.values["field"]): (f.severity, f.values["count"]) for f in findings}
    assert got == {
        ("conversion", "name"): ("error", 3),
        ("required_empty", "note"): ("warning", 1),
        ("too_long", "note"): ("warning", 1),
        ("duplicates", "code"): ("error", 2),
    }


def test_warnings_do_not_stop_a_publish(world: World) -> None:
    _draft(world, lambda f: f["note"].update(required=True))
    _, [finding] = world.metadata.check_draft_data()
    assert finding.records == ({"id": 3, "title": "Cy", "value": ""},)
    world.metadata.publish("test")
