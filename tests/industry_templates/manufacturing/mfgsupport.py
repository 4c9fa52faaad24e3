"""A site with the manufacturing pack installed on a fixed clock, and short ways to act on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.records.runtime import RecordRuntime
from rule_engine.actions.transition import workflow_service
from rule_engine.scheduler.runner import RunReport, run_due
from rule_engine.tables import inbox
from rule_engine.testing.world import FakeClock
from tests.industry_templates.packsupport import Site

# A Monday morning; sample data dates are relative to it.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ENGINEERS = ("mfg_eng_zhang", "mfg_eng_li", "mfg_eng_wang")
OPEN_STATES = ("dispatched", "in_progress")


@dataclass
class MfgSite:
    """The installed site, its fake clock and helpers for the scenarios."""

    site: Site
    clock: FakeClock

    def runtime(self) -> RecordRuntime:
        """The record runtime of the active version (it reads the fake clock)."""
        return self.site.runtime()

    def actor(self, username: str) -> Actor:
        """A demo user of org.json (or ``admin``) as a runtime actor."""
        return self.site.actor(username)

    def uid(self, username: str) -> int:
        """A user's id."""
        return self.site.user_id(username)

    def run_due(self) -> RunReport:
        """One scheduler pass at the fake clock's time: time triggers and retries."""
        svc = self.site.services
        return run_due(svc.engine, svc.metadata.model(), self.clock(), svc.rules, svc.hooks)

    def transition(self, entity: str, record_id: int, name: str, username: str, **values: Any) -> Any:
        """Take a workflow transition as a user, with field values the transition needs."""
        service = workflow_service({"rule_engine": self.site.services.rules})
        return service.transition(
            self.runtime(), entity, record_id, name, actor=self.actor(username), values=values or None
        )

    def records(self, entity: str, username: str | None = None, **equal: Any) -> list[dict[str, Any]]:
        """Every record of ``entity`` (as ``username`` sees them, else all), oldest first."""
        query = ListQuery(filters=[Filter(k, "eq", v) for k, v in equal.items()], sort="id", limit=500)
        actor = self.actor(username) if username else Actor()
        return self.runtime().list(entity, query, actor).items

    def by_key(self, entity: str, field: str, value: str) -> dict[str, Any]:
        """The one record whose ``field`` is ``value``."""
        found = self.records(entity, **{field: value})
        assert len(found) == 1, f"{entity} {field}={value}: {len(found)} records"
        return found[0]

    def load(self) -> dict[int, int]:
        """Open (dispatched or in progress) work orders per engineer id."""
        counts = {self.uid(name): 0 for name in ENGINEERS}
        for order in self.records("work_order"):
            if order["status"] in OPEN_STATES and order["owner_id"] in counts:
                counts[order["owner_id"]] += 1
        return counts

    def inbox(self) -> list[dict[str, Any]]:
        """Every in-app notification, oldest first."""
        with self.site.services.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(inbox).order_by(inbox.c.id)).mappings()]


def mfg_site(site: Site, *, sample: bool = True, now: dt.datetime = T0) -> MfgSite:
    """Put an empty site on a fake clock at ``now`` and install the manufacturing pack."""
    clock = FakeClock(now)
    site.services.clock = clock
    site.services.rules.clock = clock
    site.install("manufacturing", sample=sample)
    return MfgSite(site, clock)
