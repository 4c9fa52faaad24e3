"""The bundled birthday plugin: ages and days to the next birthday around 29 February and year ends."""

from __future__ import annotations

import datetime as dt

import pytest

from metamodel.definitions import Bundle
from metamodel.fieldtypes import FieldTypeRegistry, register_builtin_field_types
from metamodel.model import SiteModel
from plugins.api import PluginContext
from plugins.birthday.plugin import age, days_until_birthday, plugin
from rule_engine.expressions import (
    DictContext,
    FunctionRegistry,
    compile_expression,
    register_builtin_functions,
)

D = dt.date


@pytest.mark.parametrize(
    ("born", "today", "years"),
    [
        (D(2000, 5, 10), D(2026, 5, 9), 25),
        (D(2000, 5, 10), D(2026, 5, 10), 26),
        (D(2000, 2, 29), D(2027, 2, 27), 26),
        (D(2000, 2, 29), D(2027, 2, 28), 27),  # 29 Feb counts on 28 Feb in a common year
        (D(2000, 2, 29), D(2028, 2, 28), 27),  # ... but on 29 Feb in a leap year
        (D(2000, 2, 29), D(2028, 2, 29), 28),
        (D(1999, 12, 31), D(2026, 12, 30), 26),
        (D(1999, 12, 31), D(2026, 12, 31), 27),
        (D(2000, 1, 1), D(2026, 12, 31), 26),
        (D(2026, 3, 1), D(2026, 3, 1), 0),
        (D(2026, 3, 2), D(2026, 3, 1), None),  # not born yet
    ],
)
def test_age(born: dt.date, today: dt.date, years: int | None) -> None:
    assert age(today, born) == years


@pytest.mark.parametrize(
    ("born", "today", "days"),
    [
        (D(2000, 5, 10), D(2026, 5, 10), 0),
        (D(2000, 5, 10), D(2026, 5, 9), 1),
        (D(2000, 1, 1), D(2026, 12, 31), 1),  # over the year end
        (D(1990, 12, 31), D(2027, 1, 1), 364),
        (D(1990, 12, 31), D(2028, 1, 1), 365),  # 2028 is a leap year
        (D(2000, 2, 29), D(2027, 2, 28), 0),
        (D(2000, 2, 29), D(2027, 3, 1), 365),  # to 29 Feb 2028
        (D(2000, 2, 29), D(2028, 2, 1), 28),
        (D(2000, 2, 29), D(2026, 12, 31), 59),  # to 28 Feb 2027
        (D(2000, 3, 1), D(2028, 2, 29), 1),
    ],
)
def test_days_until_birthday(born: dt.date, today: dt.date, days: int) -> None:
    assert days_until_birthday(today, born) == days


def test_functions_in_expressions() -> None:
    functions = register_builtin_functions(FunctionRegistry())
    ctx = PluginContext("birthday", {})
    plugin.register(ctx)
    for function in ctx.functions.items:
        functions.register(function)
    entity = {
        "name": "member",
        "fields": [{"name": "born", "type": "date"}, {"name": "seen", "type": "datetime"}],
    }
    site = SiteModel(
        0, Bundle.from_json({"entity": {"member": entity}}), register_builtin_field_types(FieldTypeRegistry())
    )
    now = dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC)
    rule = compile_expression("days_until_birthday(born) <= 7 and age(born) >= 18", site, "member", functions)
    assert rule.evaluate_record({"born": "2000-02-29"}, now) is True
    assert rule.evaluate(DictContext({"born": D(2010, 3, 1)}, now)) is False
    assert rule.evaluate_record({"born": None}, now) is False
    assert (
        compile_expression("age(seen)", site, "member", functions).evaluate_record(
            {"seen": dt.datetime(2000, 2, 29, 8, tzinfo=dt.UTC)}, now
        )
        == 27
    )
