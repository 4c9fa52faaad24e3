"""Record numbers from patterns such as ``WO-{YYYY}-{000000}``; counters restart per date period."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from metamodel.systables import sequences

_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|0+|#+)\}")


def format_number(pattern: str, now: dt.datetime, counter: int) -> str:
    """Fill a pattern's date placeholders and its counter."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(1)
        dates = {
            "YYYY": f"{now.year:04d}",
            "YY": f"{now.year % 100:02d}",
            "MM": f"{now.month:02d}",
            "DD": f"{now.day:02d}",
        }
        return dates.get(token) or str(counter).zfill(len(token))

    return _TOKEN.sub(fill, pattern)


def sequence_key(entity_id: str, pattern: str, now: dt.datetime) -> str:
    """Return the counter key: the pattern with its date parts filled, so a new year restarts at 1."""
    return f"{entity_id}:{format_number(pattern, now, 0)}"


def next_number(conn: Connection, entity_id: str, pattern: str, now: dt.datetime) -> str:
    """Allocate the next record number inside the caller's transaction."""
    key = sequence_key(entity_id, pattern, now)
    for _attempt in range(3):
        result = conn.execute(
            update(sequences).where(sequences.c.key == key).values(value=sequences.c.value + 1)
        )
        if result.rowcount:
            value = conn.execute(select(sequences.c.value).where(sequences.c.key == key)).scalar_one()
            return format_number(pattern, now, value)
        try:
            with conn.begin_nested():
                conn.execute(sequences.insert().values(key=key, value=1))
            return format_number(pattern, now, 1)
        except IntegrityError:
            continue  # another writer created the counter first; increment it instead
    raise RuntimeError("could not allocate a record number")
