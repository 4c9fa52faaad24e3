"""The education pack on a fresh database with a fake clock: metadata, roles, org, demo users, sample data.

Until the pack installer lands this applies the pack's files the way FORMAT.md describes them, through
the platform's own services (MetadataService via the test world, AccessAdmin, the record runtime).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_platform.metafiles import read_bundle
from metamodel.access import AccessAdmin
from metamodel.access.enforcement import install_access_control
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.records.runtime import RecordRuntime
from rule_engine.tables import inbox
from rule_engine.testing.world import T0, World, add_user, make_world

PACK = Path(__file__).resolve().parents[3] / "industry_templates" / "packs" / "education"
_RELATIVE = re.compile(r"^@(today|now)(?:([+-])(\d{1,6})([dhm]))?$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def pack_json(path: str) -> Any:
    """Return one JSON file of the pack."""
    return json.loads((PACK / path).read_text("utf-8"))


@dataclass
class EduSite:
    """An installed education site: the world, demo users by name, and a few query helpers."""

    world: World
    users: dict[str, int] = field(default_factory=dict)

    def runtime(self) -> RecordRuntime:
        return self.world.runtime()

    def actor(self, username: str) -> Actor:
        """Return a signed-in user; the runtime reads the clock and her grants on each operation."""
        return Actor(self.users[username], username, False)

    def all(self, entity: str, actor: Actor | None = None) -> list[dict[str, Any]]:
        """Return every record of ``entity`` the actor may read (the system when None)."""
        query = ListQuery(sort="id", limit=500)
        page = self.runtime().list(entity, query, actor) if actor else self.runtime().list(entity, query)
        return list(page.items)

    def by(self, entity: str, key: str, value: Any) -> dict[str, Any]:
        """Return the one record of ``entity`` whose ``key`` is ``value``."""
        found = [r for r in self.all(entity) if r[key] == value]
        assert len(found) == 1, (entity, key, value, found)
        return found[0]

    def inbox(self, username: str | None = None) -> list[dict[str, Any]]:
        """Return the in-app messages (of one user)."""
        where = [inbox.c.user_id == self.users[username]] if username else []
        return self.world.rows(inbox, *where)


def relative(value: Any, now: dt.datetime) -> Any:
    """Turn ``@today-30d`` into a date and ``@now+49h`` into an ISO moment; other values pass."""
    found = _RELATIVE.match(value) if isinstance(value, str) else None
    if found is None:
        return value
    base, sign, amount, unit = found.groups()
    delta = dt.timedelta(**{_UNITS[unit]: int(amount)}) * (-1 if sign == "-" else 1) if amount else dt.timedelta()
    moment = now + delta
    return moment.date().isoformat() if base == "today" else moment.isoformat()


def install_education(
    db_url: str, *, org: bool = True, records: bool = True, now: dt.datetime = T0
) -> EduSite:
    """Publish the pack's metadata on an empty database, add its roles, then its org and demo users
    (``org``) and its sample records (``records``)."""
    world = make_world(db_url, read_bundle(PACK / "metadata").to_json(), now=now)
    install_access_control(world.hooks)
    site = EduSite(world)
    admin = AccessAdmin(world.db, world.clock)
    for path in sorted((PACK / "roles").glob("*.json")):
        role = json.loads(path.read_text("utf-8"))
        admin.create_role(role["name"], role["label"])
        admin.set_permissions(role["name"], role["permissions"])
    if not org:
        return site
    org = pack_json("sample_data/org.json")
    units: dict[str, int] = {}
    for unit in org["units"]:
        created = admin.create_unit(unit["name"], units.get(unit["parent"] or ""), unit.get("label"))
        units[unit["name"]] = int(created["id"])
    for user in org["users"]:
        user_id = add_user(world.db, user["username"])
        for role in user.get("roles", []):
            admin.assign_role(user_id, role)
        admin.set_user_unit(user_id, units[user["unit"]])
        site.users[user["username"]] = user_id
    if records:
        _load_records(site, pack_json("sample_data/records.json"))
    return site


def _load_records(site: EduSite, data: dict[str, Any]) -> None:
    runtime = site.runtime()
    now = site.world.clock()
    keys: dict[str, str] = data.get("keys", {})
    with runtime.transaction() as conn:
        for entity in data["order"]:
            model = runtime.model.entity(entity)
            for raw in data["records"].get(entity, []):
                values = {name: relative(value, now) for name, value in raw.items()}
                for definition in model.entity.fields:
                    target = definition.get("target")
                    if definition.type == "link" and values.get(definition.name) is not None:
                        target_model = runtime.model.entity(str(target))
                        column = target_model.table.c[keys[str(target)]]
                        values[definition.name] = conn.execute(
                            select(target_model.table.c.id).where(column == values[definition.name])
                        ).scalar_one()
                runtime.create(entity, values, Actor(now=now), conn)
