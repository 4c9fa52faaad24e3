"""The industry packs of the demo: every bundled pack installed with its sample data and trade logins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm_platform.auth.passwords import hash_password
from crm_platform.services import CrmServices
from industry_templates.installer import bundled_packs, install_pack, load_pack
from industry_templates.siteaccess import write_role
from industry_templates.store import all_packs, installed_packs
from metamodel.records.hooks import Actor
from metamodel.systables import user_roles, users

# The demo's own user keeps working once the packs switch permissions on: a role over the demo entities.
DEMO_ROLE = {
    "name": "demo_sales",
    "label": {"en": "Demo sales", "zh-CN": "演示销售"},
    "permissions": [
        {"entity": entity, "operation": operation, "scope": "all"}
        for entity in ("customer", "product", "sales_order")
        for operation in ("read", "create", "update", "delete", "export", "transition")
    ],
}


def install_demo_packs(svc: CrmServices, password: str, actor: Actor, demo_user: str) -> list[str]:
    """Install each bundled pack never installed on this site, with sample data; returns what was done."""
    lines = []
    password_hash = hash_password(password)
    with svc.engine.connect() as conn:
        known = set(all_packs(conn))  # an uninstalled pack stays uninstalled across restarts
    for name in bundled_packs():
        if name in known:
            continue
        report = install_pack(svc, name, with_sample_data=True, actor=actor, password_hash=password_hash)
        lines.append(
            f"Pack {report.name} {report.version} installed: {report.records} sample records, "
            f"{report.users} demo users."
        )
    if lines:
        _grant_demo_role(svc, demo_user)
    return lines


def _grant_demo_role(svc: CrmServices, username: str) -> None:
    with svc.engine.begin() as conn:
        write_role(conn, DEMO_ROLE)
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        assigned = conn.execute(
            select(user_roles.c.role).where(
                user_roles.c.user_id == user_id, user_roles.c.role == DEMO_ROLE["name"]
            )
        ).first()
        if user_id is not None and assigned is None:
            conn.execute(user_roles.insert().values(user_id=user_id, role=DEMO_ROLE["name"]))


def trade_logins(svc: CrmServices) -> list[str]:
    """Return one line per installed pack naming its demo users and their roles."""
    lines = []
    with svc.engine.connect() as conn:
        installed = installed_packs(conn)
        existing = set(conn.execute(select(users.c.username)).scalars())
    for name, pack in installed.items():
        people = _org_users(name) if name in bundled_packs() else []
        shown = [
            f"{p['username']} ({', '.join(p.get('roles') or [])})"
            for p in people
            if p["username"] in existing
        ]
        if shown:
            lines.append(f"  {pack.manifest.get('label', {}).get('en', name)}: " + "; ".join(shown))
    return lines


def _org_users(name: str) -> list[dict[str, Any]]:
    org = load_pack(name).org or {}
    return list(org.get("users") or [])
