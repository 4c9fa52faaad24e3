"""The 3-way merge of documents: one-sided changes win, same-spot changes conflict and keep the site's."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from industry_templates.merge import MISSING, merge3

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=8,
)
named_lists = st.lists(
    st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "c", "d"]), "x": st.integers(0, 2)}),
    max_size=4,
    unique_by=lambda d: d["name"],
)


@given(json_values, json_values)
def test_a_side_that_did_not_change_takes_the_other(base: Any, other: Any) -> None:
    assert merge3(base, base, other).value == other
    assert merge3(base, other, base).value == other
    assert merge3(base, other, other).value == other
    assert merge3(base, base, other).conflicts == [] and merge3(base, other, base).conflicts == []


@given(named_lists, named_lists, named_lists)
def test_named_lists_merge_item_by_item(base: list[Any], ours: list[Any], theirs: list[Any]) -> None:
    result = merge3(base, ours, theirs, "f")
    merged = {item["name"]: item for item in result.value}
    conflicted = {c.path for c in result.conflicts}
    for name in {i["name"] for i in base + ours + theirs}:
        b, o, t = ({i["name"]: i for i in side}.get(name, MISSING) for side in (base, ours, theirs))
        expected = o if t == b else t if o == b else o
        if o != t and o != b and t != b:
            # Both changed: the site's item (or its absence) stays, and the spot is reported.
            assert any(p.startswith(f"f[{name}]") for p in conflicted)
            if o is MISSING or t is MISSING:
                assert merged.get(name, MISSING) == o
            continue
        assert merged.get(name, MISSING) == expected


def test_conflicts_name_their_path_and_keep_the_site_value() -> None:
    base = {"label": {"en": "Member", "zh-CN": "会员"}, "fields": [{"name": "tier", "default": "a"}]}
    ours = {
        "label": {"en": "Customer", "zh-CN": "会员"},
        "fields": [{"name": "tier", "default": "b"}, {"name": "wechat"}],
    }
    theirs = {
        "label": {"en": "Club member", "zh-CN": "俱乐部会员"},
        "fields": [{"name": "tier", "default": "c"}, {"name": "birthday"}],
    }
    result = merge3(base, ours, theirs, "entity.member")
    assert result.value == {
        "label": {"en": "Customer", "zh-CN": "俱乐部会员"},
        # The pack's new field goes right after its predecessor in the pack; the site's stays after.
        "fields": [{"name": "tier", "default": "b"}, {"name": "birthday"}, {"name": "wechat"}],
    }
    assert [(c.path, c.ours, c.theirs) for c in result.conflicts] == [
        ("entity.member.label.en", "Customer", "Club member"),
        ("entity.member.fields[tier].default", "b", "c"),
    ]


def test_a_new_item_of_the_pack_lands_after_its_predecessor() -> None:
    base = [{"name": "a"}, {"name": "c"}]
    ours = [{"name": "c"}, {"name": "a"}, {"name": "z"}]
    theirs = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    assert [i["name"] for i in merge3(base, ours, theirs).value] == ["c", "a", "b", "z"]


def test_validation_rules_added_on_both_sides_are_all_kept() -> None:
    theirs = [{"condition": "x > 0", "message": "pack"}]
    ours = [{"condition": "y > 0", "message": "site"}]
    assert merge3(MISSING, ours, theirs).value == ours + theirs
