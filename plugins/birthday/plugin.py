"""Birthday functions for expressions (member birthdays in retail, students' ages in education).

A birthday on 29 February falls on 28 February in years without one: the age goes up that day and
``days_until_birthday`` counts to it. Both read the evaluation clock's date (UTC); a datetime argument
counts by its date. A birth date after today has no age (null).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from plugins.api import Plugin, PluginContext
from rule_engine.expressions.functions import Function
from rule_engine.expressions.types import DATETIME, NUMBER


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def anniversary(born: dt.date, year: int) -> dt.date:
    """Return the birthday of someone born on ``born`` in ``year`` (29 Feb -> 28 Feb in common years)."""
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a year without it
        return dt.date(year, 2, 28)


def age(today: dt.date, born: dt.date) -> int | None:
    """Return full years from ``born`` to ``today``; None when ``born`` is after today."""
    if born > today:
        return None
    years = today.year - born.year
    return years if anniversary(born, today.year) <= today else years - 1


def days_until_birthday(today: dt.date, born: dt.date) -> int:
    """Return the days from ``today`` to the next birthday (0 on the day itself)."""
    upcoming = anniversary(born, today.year)
    if upcoming < today:
        upcoming = anniversary(born, today.year + 1)
    return (upcoming - today).days


def _age(now: dt.datetime, born: Any) -> int | None:
    return age(now.date(), _date(born))


def _days_until(now: dt.datetime, born: Any) -> int:
    return days_until_birthday(now.date(), _date(born))


class BirthdayPlugin(Plugin):
    """Registers the two expression functions."""

    name = "birthday"
    version = "1.0.0"
    description = "age(date) and days_until_birthday(date) for expressions"

    def register(self, ctx: PluginContext) -> None:
        """Add ``age`` and ``days_until_birthday``."""
        ctx.functions.register(Function("age", (DATETIME,), NUMBER, _age, needs_now=True))
        ctx.functions.register(
            Function("days_until_birthday", (DATETIME,), NUMBER, _days_until, needs_now=True)
        )


plugin = BirthdayPlugin()
