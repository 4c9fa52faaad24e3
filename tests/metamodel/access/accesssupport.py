"""Helpers for the access-control tests: a published 'deal' entity, users, and runtimes with access hooks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from metamodel.access import AccessAdmin, install_access_control
from metamodel.access.fieldsecurity import install_field_security
from metamodel.records.hooks import Actor, RecordHooks
from metamodel.records.query import ListQuery
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import users
from tests.metamodel.mmsupport import Site, entity

DEAL = entity(
    "deal",
    [
        {"name": "title", "type": "text", "required": True, "searchable": True},
        {"name": "amount", "type": "integer"},
    ],
    title_field="title",
)
NOTE = entity("note", [{"name": "text", "type": "text", "searchable": True}], title_field="text")
CONTACT = entity(
    "contact",
    [
        {"name": "name", "type": "text", "required": True, "searchable": True, "mask": "name"},
        {"name": "phone", "type": "phone", "searchable": True},
        {"name": "email", "type": "email", "searchable": True},
        {"name": "id_no", "type": "text", "searchable": True, "mask": "id_number"},
        {"name": "deal", "type": "link", "target": "deal"},
    ],
    title_field="name",
)


@dataclass
class Shop:
    """A site with access control installed: publish once, then add users, units, roles and deals."""

    site: Site
    admin: AccessAdmin
    runtime: RecordRuntime
    names: dict[int, str] = field(default_factory=dict)
    admins: set[int] = field(default_factory=set)

    def user(
        self, name: str, *, is_admin: bool = False, unit: int | None = None, roles: tuple[str, ...] = ()
    ) -> int:
        """Create a user (directly in sys_user), put her in ``unit`` and give her ``roles``."""
        with self.site.engine.begin() as conn:
            user_id = int(
                conn.execute(
                    users.insert().values(
                        username=name,
                        password_hash="x",
                        display_name=name,
                        locale="en",
                        is_admin=is_admin,
                        is_active=True,
                        created_at=self.site.clock(),
                    )
                ).inserted_primary_key[0]
            )
        if unit is not None:
            self.admin.set_user_unit(user_id, unit)
        for role in roles:
            self.admin.assign_role(user_id, role)
        self.names[user_id] = name
        if is_admin:
            self.admins.add(user_id)
        return user_id

    def actor(self, user_id: int | None) -> Actor:
        """Return the runtime actor of a user (None: the system)."""
        if user_id is None:
            return Actor()
        return Actor(user_id, self.names.get(user_id), user_id in self.admins)

    def role(self, name: str, *permissions: tuple[str, str, str]) -> str:
        """Create a role with (entity, operation, scope) permissions."""
        self.admin.create_role(name)
        self.admin.set_permissions(
            name, [{"entity": e, "operation": o, "scope": s} for e, o, s in permissions]
        )
        return name

    def deal(self, title: str, owner: int | None, amount: int = 0, entity_name: str = "deal") -> int:
        """Create a record as the system, owned by ``owner``; returns its id."""
        values: dict[str, Any] = (
            {"title": title, "amount": amount} if entity_name == "deal" else {"text": title}
        )
        if owner is not None:
            values["owner_id"] = owner
        return int(self.runtime.create(entity_name, values)["id"])

    def titles(self, user_id: int | None, entity_name: str = "deal", **query: Any) -> list[str]:
        """Return the titles a user's list shows (every page, ascending id)."""
        key = "title" if entity_name == "deal" else "text"
        found: list[str] = []
        list_query = ListQuery(sort="id", limit=query.pop("limit", 500), **query)
        while True:
            page = self.runtime.list(entity_name, list_query, self.actor(user_id))
            found += [item[key] for item in page.items]
            if not page.has_more:
                return found
            list_query = ListQuery(sort="id", limit=list_query.limit, cursor=page.next_cursor, **query)

    def field_rules(self, role: str, *rules: tuple[Any, ...]) -> None:
        """Set a role's field rules from (entity, field, access[, mask[, reveal]]) tuples."""
        keys = ("entity", "field", "access", "mask", "reveal")
        self.admin.set_field_rules(
            role, [dict(zip(keys, rule, strict=False)) for rule in rules], self.runtime.model
        )

    def tomorrow(self) -> dt.datetime:
        """Return the fake clock's time plus a day."""
        return self.site.clock() + dt.timedelta(days=1)


def make_shop(site: Site) -> Shop:
    """Publish deal, note and contact, and return a Shop whose runtime enforces access control."""
    site.publish([DEAL, NOTE, CONTACT])
    hooks = install_access_control(RecordHooks())
    install_field_security(hooks)
    runtime = RecordRuntime(site.svc.model(), site.engine, hooks, clock=site.clock)
    return Shop(site, AccessAdmin(site.engine, clock=site.clock), runtime)
