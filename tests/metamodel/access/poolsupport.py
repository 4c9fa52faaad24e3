"""Helpers for the lead-pool tests: a published 'lead' entity with a pool, sales people, a manager and a runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metamodel.access import AccessAdmin, install_access_control
from metamodel.audit import install_record_audit
from metamodel.pool.hooks import install_pool
from metamodel.pool.service import LeadPool
from metamodel.records.hooks import RecordHooks
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.access.accesssupport import Shop
from tests.metamodel.mmsupport import Site, entity

POOL = {
    "contact_fields": ["phone", "email"],
    "claim_limit": 2,
    "return_after_days": 7,
    "follow_up_field": "last_contact_at",
}


def lead_entity(pool: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the 'lead' entity document (线索) with the given pool settings."""
    return entity(
        "lead",
        [
            {"name": "company", "type": "text", "required": True, "searchable": True},
            {"name": "phone", "type": "phone", "searchable": True},
            {"name": "email", "type": "email", "searchable": True},
            {"name": "last_contact_at", "type": "datetime"},
        ],
        title_field="company",
        label={"en": "Lead", "zh-CN": "线索"},
        pool=POOL if pool is None else pool,
    )


@dataclass
class PoolShop:
    """A shop whose runtime enforces access control and the pool, plus the pool service."""

    shop: Shop
    pool: LeadPool
    sales: int
    sam: int
    manager: int

    @property
    def runtime(self) -> RecordRuntime:
        """The record runtime with access control and the pool installed."""
        return self.shop.runtime

    def lead(self, company: str, owner: int | None = None, phone: str = "13812345678", **values: Any) -> int:
        """Create a lead as the system (no owner: in the pool); returns its id."""
        body: dict[str, Any] = {
            "company": company,
            "phone": phone,
            "email": f"{company.replace(' ', '.')}@example.com",
            **values,
        }
        if owner is not None:
            body["owner_id"] = owner
        return int(self.runtime.create("lead", body)["id"])


def make_pool_shop(site: Site, pool: dict[str, Any] | None = None) -> PoolShop:
    """Publish 'lead'; roles: sales (own leads, claim from the pool) and manager (every lead)."""
    site.publish([lead_entity(pool)])
    hooks = install_pool(install_access_control(RecordHooks()))
    install_record_audit(hooks)
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    shop = Shop(site, AccessAdmin(site.engine, clock=site.clock), runtime)
    own = [{"entity": "lead", "operation": op, "scope": "own"} for op in ("read", "update")]
    shop.admin.create_role("sales")
    shop.admin.set_permissions("sales", [*own, {"entity": "lead", "operation": "claim", "scope": "all"}])
    shop.admin.create_role("lead_manager")
    shop.admin.set_permissions(
        "lead_manager",
        [{"entity": "lead", "operation": op, "scope": "all"} for op in ("read", "update", "claim")],
    )
    sales = shop.user("sue", roles=("sales",))
    sam = shop.user("sam", roles=("sales",))
    manager = shop.user("max", roles=("lead_manager",))
    return PoolShop(shop, LeadPool(runtime), sales, sam, manager)
