"""A site with the retail pack on a real database: rule engine, access control and a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_platform.metafiles import read_bundle
from metamodel.access import AccessAdmin, install_access_control
from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users
from rule_engine.actions.transition import workflow_service
from rule_engine.tables import inbox
from rule_engine.testing.world import World, add_user, make_world

PACK_DIR = Path(__file__).resolve().parents[3] / "industry_templates" / "packs" / "retail"
# A Monday morning in Shanghai (01:00 UTC), before the nightly re-tiering at 02:30 Shanghai time.
NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


@dataclass
class RetailSite:
    """The retail pack published on a fresh database, its roles created, access control installed."""

    world: World
    access: AccessAdmin

    @property
    def clock(self) -> Any:
        return self.world.clock

    def runtime(self) -> RecordRuntime:
        """Return a record runtime on the active version (rules, triggers and access control hooked in)."""
        return self.world.runtime()

    def today(self, days: int = 0) -> str:
        """Return the ISO date ``days`` after the clock's current day."""
        return (self.world.clock().date() + dt.timedelta(days=days)).isoformat()

    def run_due(self) -> Any:
        """Run the scheduler's due scan once at the clock's time."""
        return self.world.run_due()

    def fired(self, rule: str) -> int:
        """Run the due scan once; return how many firings of ``rule`` it completed (none may fail)."""
        report = self.world.run_due()
        assert set(report.outcomes) <= {"done"}, report.per_rule  # no firing fails or waits for a retry
        found = report.per_rule.get(rule)
        return int(found["done"]) if found else 0

    def advance_to(self, moment: dt.datetime) -> None:
        """Move the clock forward to ``moment``."""
        assert moment >= self.world.clock()
        self.world.clock.now = moment

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        return self.runtime().get(entity, record_id)

    def user(self, username: str, *, unit: str | None = None, roles: tuple[str, ...] = ()) -> Actor:
        """Create a user in org unit ``unit`` with ``roles``; returns her actor."""
        user_id = add_user(self.world.db, username, role_names=roles)
        if unit is not None:
            self.access.set_user_unit(user_id, self.unit_id(unit))
        return Actor(user_id, username)

    def unit(self, name: str, parent: str | None = None) -> int:
        """Create an org unit under ``parent``; returns its id."""
        return int(self.access.create_unit(name, self.unit_id(parent) if parent else None)["id"])

    def unit_id(self, name: str) -> int:
        return next(int(u["id"]) for u in self.access.units() if u["name"] == name)

    def actor_of(self, username: str) -> Actor:
        with self.world.db.connect() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
        return Actor(int(user_id), username)

    def names(self, entity: str, actor: Actor, field: str = "name") -> list[str]:
        """Return ``field`` of every record of ``entity`` the actor's list shows."""
        page = self.runtime().list(entity, ListQuery(sort="id", limit=500), actor)
        return [str(item[field]) for item in page.items]

    def inbox(self, username: str | None = None) -> list[dict[str, Any]]:
        """Return inbox messages (of one user), oldest first."""
        where = []
        if username is not None:
            where.append(inbox.c.user_id == self.actor_of(username).user_id)
        return self.world.rows(inbox, *where)

    # --- records of the trade ---------------------------------------------------------------
    def store(self, code: str, name: str) -> int:
        return int(self.runtime().create("store", {"code": code, "name": name})["id"])

    def member(self, name: str, phone: str, store: int, actor: Actor | None = None, **values: Any) -> int:
        record = self.runtime().create(
            "member", {"name": name, "phone": phone, "home_store": store, **values}, actor or Actor()
        )
        return int(record["id"])

    def order(
        self,
        member: int | None,
        store: int,
        amount: str,
        *,
        on: str | None = None,
        actor: Actor | None = None,
    ) -> dict[str, Any]:
        """Create a paid order with one line of ``amount`` yuan."""
        values: dict[str, Any] = {
            "member": member,
            "store": store,
            "lines": [{"item": "羊毛围巾", "sku": "AC-2001", "quantity": 1, "unit_price": amount}],
        }
        if on is not None:
            values["order_date"] = on
        return self.runtime().create("retail_order", values, actor or Actor())


def pack_roles() -> dict[str, dict[str, Any]]:
    """Return the role documents of the pack by name."""
    return {
        path.stem: json.loads(path.read_text("utf-8")) for path in sorted((PACK_DIR / "roles").glob("*.json"))
    }


def retail_site(db_url: str, now: dt.datetime = NOW) -> RetailSite:
    """Publish the pack's metadata on an empty database and create its roles."""
    world = make_world(db_url, None, now=now)
    install_access_control(world.hooks)
    world.metadata.replace_draft(read_bundle(PACK_DIR / "metadata"), "test")
    world.metadata.publish("test", "retail pack")
    access = AccessAdmin(world.db, clock=world.clock)
    for role in pack_roles().values():
        access.create_role(role["name"], role.get("label"))
        access.set_permissions(role["name"], role["permissions"])
    return RetailSite(world, access)


def workflow_of(site: RetailSite) -> Any:
    """Return the workflow service of the site's rule engine."""
    service = workflow_service({"rule_engine": site.world.rules})
    assert service is not None
    return service
