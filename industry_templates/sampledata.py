"""Sample records of a pack: created through the record runtime, links named by natural keys."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Connection, select

from metamodel.errors import CrmError, Problem, RecordInvalid
from metamodel.fieldtypes.base import ValueProblem
from metamodel.records.hooks import Actor
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users

FILE = "sample_data/records.json"
HISTORY = "_history"  # a sample record's flag: written by the system, state and read-only fields as given
_RELATIVE = re.compile(r"^@(today|now)(?:([+-])(\d{1,6})([dhm]))?$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def relative_value(value: Any, now: dt.datetime) -> Any:
    """Turn ``@today-30d`` into a date and ``@now+49h`` into a UTC moment (ISO text); other values pass."""
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    found = _RELATIVE.match(value)
    if found is None:
        return value
    base, sign, amount, unit = found.groups()
    delta = (
        dt.timedelta(**{_UNITS[unit]: int(amount)}) * (-1 if sign == "-" else 1) if amount else dt.timedelta()
    )
    moment = now.astimezone(dt.UTC) + delta
    if base == "today":
        return moment.date().isoformat()
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class SampleLoader:
    """Creates the records of one records.json in order, remembering natural keys for later links."""

    def __init__(self, runtime: RecordRuntime, data: dict[str, Any], actor: Actor, conn: Connection) -> None:
        self.runtime = runtime
        self.data = data
        self.keys: dict[str, str] = dict(data.get("keys") or {})
        self.actor = actor
        self.conn = conn
        self.now = actor.now or runtime.clock()
        self.ids: dict[tuple[str, str], int] = {}

    def load(self) -> int:
        """Create every record; returns how many top-level records were created."""
        count = 0
        records = self.data.get("records") or {}
        for entity in self.data.get("order") or []:
            for index, raw in enumerate(records.get(entity) or []):
                where = f"{FILE}.records.{entity}[{index}]"
                values = self._resolve(entity, {k: v for k, v in raw.items() if k != HISTORY}, where)
                # A past record (a finished work order) is written as the platform itself recorded it:
                # by the system, so its later state and read-only timestamps stand as given.
                who = Actor(None, "system", False, self.now) if raw.get(HISTORY) is True else self.actor
                try:
                    record = self.runtime.create(entity, values, who, self.conn)
                except CrmError as exc:
                    problems = [
                        Problem(f"{where}.{p.path}" if p.path else where, p.message, p.code)
                        for p in exc.problems
                    ]
                    raise RecordInvalid(
                        f"sample record {where} was refused: {exc.message}",
                        problems or [Problem(where, exc.message, exc.code)],
                    ) from None
                key = self.keys.get(entity)
                if key and record.get(key) is not None:
                    self.ids[(entity, str(record[key]))] = int(record["id"])
                count += 1
        return count

    def _resolve(self, entity: str, raw: dict[str, Any], where: str) -> dict[str, Any]:
        try:
            model = self.runtime.model.entity(entity)
        except CrmError:
            raise RecordInvalid(
                f"{where}: unknown entity '{entity}'", [Problem(where, f"no entity '{entity}'", "reference")]
            ) from None
        values = {name: relative_value(value, self.now) for name, value in raw.items()}
        if isinstance(values.get("owner_id"), str) and not values["owner_id"].isdigit():
            values["owner_id"] = self._user_id(values["owner_id"], f"{where}.owner_id")
        for field in model.entity.fields:
            value = values.get(field.name)
            if value is None:
                continue
            if field.type == "link":
                values[field.name] = self._link(str(field.get("target")), value, f"{where}.{field.name}")
            elif field.type == "child_table" and isinstance(value, list):
                child = str(field.get("child_entity"))
                values[field.name] = [
                    self._resolve(child, line, f"{where}.{field.name}[{i}]")
                    if isinstance(line, dict)
                    else line
                    for i, line in enumerate(value)
                ]
        return values

    def _user_id(self, username: str, where: str) -> int:
        found = self.conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if found is None:
            raise RecordInvalid(
                f"{where}: no user '{username}'",
                [Problem(where, f"no user '{username}' (add it to org.json)", "reference")],
            )
        return int(found)

    def _link(self, target: str, value: Any, where: str) -> Any:
        key = self.keys.get(target)
        if key is None or isinstance(value, bool) or not isinstance(value, str | int):
            return value
        found = self.ids.get((target, str(value)))
        if found is None:
            model = self.runtime.model.entity(target)
            column, definition = model.table.c.get(key), model.fields.get(key)
            if column is not None and definition is not None:
                try:  # typed as the key field, so the lookup never compares a number column with text
                    typed = model.types[key].prepare(definition, value)
                except ValueProblem as exc:
                    raise RecordInvalid(
                        f"{where}: {exc.message}",
                        [Problem(where, f"not a {target}.{key} value: {exc.message}", exc.code)],
                    ) from None
                found = self.conn.execute(select(model.table.c.id).where(column == typed).limit(1)).scalar()
        if found is None:
            raise RecordInvalid(
                f"{where}: no {target} with {key} '{value}'",
                [
                    Problem(
                        where,
                        f"no {target} record with {key} '{value}' (create it earlier in 'order')",
                        "reference",
                    )
                ],
            )
        return int(found)
