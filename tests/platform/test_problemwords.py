"""The engine's field problems worded in the reader's language, and the two catalogs kept in step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from crm_platform.problemwords import worded
from metamodel.definitions import FieldDef
from metamodel.fieldtypes import FieldTypeRegistry, ValueProblem, register_builtin_field_types

CATALOGS = Path(__file__).parents[2] / "platform" / "translations"
REGISTRY = register_builtin_field_types(FieldTypeRegistry())

# (field type and properties, a bad value): each gives one of the engine's own messages.
BAD_VALUES: list[tuple[dict[str, Any], Any]] = [
    ({"type": "text"}, True),
    ({"type": "text"}, "two\nlines"),
    ({"type": "text"}, "a\x00b"),
    ({"type": "long_text"}, "a\ud800"),
    ({"type": "text", "max_length": 3}, "abcd"),
    ({"type": "text", "min_length": 3}, "ab"),
    ({"type": "text", "pattern": "[A-Z]+"}, "abc"),
    ({"type": "email"}, "nobody"),
    ({"type": "phone"}, "12"),
    ({"type": "url"}, "ftp://x"),
    ({"type": "integer"}, "abc"),
    ({"type": "integer"}, "1.5"),
    ({"type": "integer"}, 2**70),
    ({"type": "integer", "min": 5}, 1),
    ({"type": "integer", "max": 5}, 9),
    ({"type": "decimal"}, "1.234"),
    ({"type": "decimal"}, "NaN"),
    ({"type": "decimal"}, "9" * 70),
    ({"type": "date"}, "31/12/2020"),
    ({"type": "datetime"}, "soon"),
    ({"type": "boolean"}, "perhaps"),
    ({"type": "select", "options": [{"value": "a", "label": "A"}]}, "b"),
    ({"type": "link", "target": "x"}, "abc"),
    ({"type": "json"}, {1, 2}),
]


def engine_message(doc: dict[str, Any], value: Any) -> str:
    definition = FieldDef({"id": "f1", "name": "f", **doc})
    with pytest.raises(ValueProblem) as caught:
        REGISTRY.of(definition).prepare(definition, value)
    return caught.value.message


@pytest.mark.parametrize(
    ("doc", "value"), BAD_VALUES, ids=[f"{d['type']}-{i}" for i, (d, _) in enumerate(BAD_VALUES)]
)
def test_every_field_type_problem_is_worded_in_chinese_and_kept_in_english(
    doc: dict[str, Any], value: Any
) -> None:
    message = engine_message(doc, value)
    assert worded(message, "en") == message
    chinese = worded(message, "zh-CN")
    # A message of no known shape would come back unchanged: English in a Chinese page.
    assert chinese != message and re.search(r"[\u4e00-\u9fff]", chinese), message
    for number in re.findall(r"\d+", message):
        if not message.startswith("must be a date"):
            assert number in chinese, (message, chinese)


def test_computed_values_and_record_headlines_are_worded_too() -> None:
    assert worded("the computed value must be at most 50", "zh-CN") == "计算结果不能大于 50"
    assert worded("the customer record is not valid", "zh-CN") == "customer 记录有误，请检查"
    assert worded("nothing new to fill in (skipped)", "zh-CN") == "没有需要补充的新内容（已跳过）"
    assert worded("the key matches 3 stored records", "zh-CN") == "此键值匹配了 3 条已存记录"
    assert worded("a rule the admin wrote: in any words", "zh-CN") == "a rule the admin wrote: in any words"


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    en = json.loads((CATALOGS / "en.json").read_text("utf-8"))
    zh = json.loads((CATALOGS / "zh-CN.json").read_text("utf-8"))
    assert sorted(set(en) ^ set(zh)) == []

    def placeholders(text: str) -> set[str]:
        return set(re.findall(r"\{(\w*)\}", text))

    # The Chinese month title names the month by number where English names it by word.
    differing = {k for k in en if placeholders(en[k]) != placeholders(zh[k])}
    assert differing == {"calendar.month_title"}
