"""Roll-ups over the child lines of other records: a part's used quantity summed over job-card lines."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.errors import RecordInvalid
from rule_engine.testing.world import World, entity, make_world

WORKSHOP: dict[str, Any] = {
    "entity": {
        "part": entity(
            "part",
            [
                {"name": "name", "type": "text", "required": True},
                {"name": "opening", "type": "integer"},
                {
                    "name": "used",
                    "type": "integer",
                    "rules": {"rollup": {"source": "job_line.part", "kind": "sum", "field": "qty"}},
                },
                {
                    "name": "big_uses",
                    "type": "integer",
                    "rules": {"rollup": {"source": "job_line.part", "kind": "count", "filter": "qty >= 5"}},
                },
                {
                    "name": "stock",
                    "type": "integer",
                    "rules": {
                        "formula": "coalesce(opening, 0) - used",
                        "validations": [
                            {"condition": "stock >= 0", "message": {"en": "not enough in stock"}}
                        ],
                    },
                },
            ],
            title_field="name",
        ),
        "job": entity(
            "job",
            [
                {"name": "title", "type": "text"},
                {"name": "lines", "type": "child_table", "child_entity": "job_line"},
            ],
        ),
        "job_line": entity(
            "job_line",
            [
                {"name": "part", "type": "link", "target": "part", "on_delete": "restrict", "required": True},
                {"name": "qty", "type": "integer", "required": True},
            ],
            is_child=True,
        ),
    },
}


def parts(world: World, *ids: int) -> list[tuple[int, int, int]]:
    rt = world.runtime()
    return [(p["used"], p["big_uses"], p["stock"]) for p in (rt.get("part", i) for i in ids)]


def test_line_rollups_follow_added_changed_moved_and_deleted_lines(db_url: str) -> None:
    world = make_world(db_url, WORKSHOP)
    rt = world.runtime()
    belt = rt.create("part", {"name": "belt", "opening": 20})["id"]
    fan = rt.create("part", {"name": "fan", "opening": 20})["id"]
    job = rt.create("job", {"title": "a", "lines": [{"part": belt, "qty": 2}, {"part": belt, "qty": 5}]})
    other = rt.create("job", {"title": "b", "lines": [{"part": fan, "qty": 1}]})
    assert parts(world, belt, fan) == [(7, 1, 13), (1, 0, 19)]
    first, second = (line["id"] for line in job["lines"])
    # change one line's quantity, move the other to another part, add a third
    rt.update(
        "job",
        job["id"],
        {
            "lines": [
                {"id": first, "part": belt, "qty": 3},
                {"id": second, "part": fan, "qty": 5},
                {"part": belt, "qty": 1},
            ]
        },
    )
    assert parts(world, belt, fan) == [(4, 0, 16), (6, 1, 14)]
    rt.update("job", job["id"], {"title": "unchanged lines"})  # lines not sent: nothing moves
    assert parts(world, belt, fan) == [(4, 0, 16), (6, 1, 14)]
    rt.update("job", job["id"], {"lines": [{"id": first, "part": belt, "qty": 3}]})  # two lines removed
    assert parts(world, belt, fan) == [(3, 0, 17), (1, 0, 19)]
    rt.delete("job", job["id"])  # deleting the parent deletes its lines
    rt.update("job", other["id"], {"lines": []})
    assert parts(world, belt, fan) == [(0, 0, 20), (0, 0, 20)]


def test_a_line_that_breaks_a_rule_of_the_linked_record_refuses_the_save(db_url: str) -> None:
    world = make_world(db_url, WORKSHOP)
    rt = world.runtime()
    belt = rt.create("part", {"name": "belt", "opening": 3})["id"]
    job = rt.create("job", {"title": "a", "lines": [{"part": belt, "qty": 3}]})
    with pytest.raises(RecordInvalid) as refused:
        rt.update("job", job["id"], {"lines": [{"id": job["lines"][0]["id"], "part": belt, "qty": 4}]})
    assert "not enough in stock" in str([p.message for p in refused.value.problems])
    with pytest.raises(RecordInvalid):
        rt.create("job", {"title": "b", "lines": [{"part": belt, "qty": 1}]})
    assert parts(world, belt) == [(3, 0, 0)]  # nothing of the refused saves was kept
    assert world.count("job") == 1
