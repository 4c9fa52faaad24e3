"""Database work of one list page render, counted (not timed): the same statements for 3 rows as for 30.

bench/list_page.py times this page against the bare SQL it issues; this test pins the statements behind
that figure, so a change that reads per row, per column or per template call again (grants, metadata,
saved views, titles, the unread count) fails here instead of slowly eroding the ratio.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.systables import users
from tests.platform.pages.conftest import admin_client, csrf_of

PHONE = "+8613812341234"
STORE = {"title_field": "name", "fields": [{"name": "name", "type": "text", "required": True}]}
MEMBER: dict[str, Any] = {
    "title_field": "name",
    "list_fields": ["name", "phone", "tier", "store", "home", "joined"],
    "fields": [
        {"name": "name", "type": "text", "required": True},
        {"name": "phone", "type": "phone"},
        {
            "name": "tier",
            "type": "select",
            "options": [{"value": "gold", "color": "yellow"}, {"value": "silver"}],
        },
        {"name": "store", "type": "link", "target": "store"},
        {"name": "home", "type": "link", "target": "store"},
        {"name": "joined", "type": "datetime"},
    ],
}


# Periodic refreshes (the metadata re-check every second) may add work to one render; the fewest of
# several renders is the steady state.
RENDERS = 4
_TABLE = re.compile(r"\b((?:sys|rec)_\w+)\.")


@dataclass
class Work:
    """The statements, each named by the first table it reads, and the connection checkouts of a render."""

    tables: list[str] = field(default_factory=list)
    checkouts: int = 0


@contextmanager
def counted(engine: Engine) -> Iterator[Work]:
    """Count what ``engine`` does inside the block."""
    work = Work()

    def statement(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        found = _TABLE.search(text)
        name = found.group(1) if found else " ".join(text.split()[:3])
        # A record read that checks the metadata version in the same statement says so.
        work.tables.append(
            name + (" +version" if name.startswith("rec_") and "sys_meta_state" in text else "")
        )

    def checkout(*_args: object) -> None:
        work.checkouts += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield work
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine.pool, "checkout", checkout)


def fewest(engine: Engine, call: Callable[[], object]) -> Work:
    """Return the work of the cheapest of RENDERS calls."""
    works = []
    for _ in range(RENDERS):
        with counted(engine) as work:
            call()
        works.append(work)
    return min(works, key=lambda w: (len(w.tables), w.checkouts))


def _publish(svc: CrmServices) -> None:
    """Publish stores and members; give 'clerk' a role that reads both, with members' phones masked."""
    svc.metadata.put_document("entity", "store", STORE, "test")
    svc.metadata.put_document("entity", "member", MEMBER, "test")
    svc.metadata.publish("test", "list statements")
    admin = AccessAdmin(svc.engine)
    admin.create_role("desk")
    admin.set_permissions(
        "desk",
        [
            {"entity": e, "operation": op, "scope": "all"}
            for e in ("store", "member")
            for op in ("read", "update")
        ],
    )
    rules = [{"entity": "member", "field": "phone", "access": "masked"}]
    admin.set_field_rules("desk", rules, svc.metadata.model())
    with svc.engine.connect() as conn:
        clerk = conn.execute(sa.select(users.c.id).where(users.c.username == "clerk")).scalar_one()
    admin.assign_role(int(clerk), "desk")


def _add_members(svc: CrmServices, count: int, start: int = 0) -> None:
    runtime = svc.runtime()
    for number in range(start, start + count):
        north = runtime.create("store", {"name": f"North {number}"})["id"]
        south = runtime.create("store", {"name": f"South {number}"})["id"]
        member = {
            "name": f"Member {number}",
            "phone": PHONE,
            "tier": "gold" if number % 2 else "silver",
            "store": north,
            "home": south,
            "joined": "2026-03-01T08:30:00Z",
        }
        runtime.create("member", member)


def _render(client: FlaskClient, path: str = "/e/member") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    return response.text


def _page_work(svc: CrmServices, client: FlaskClient, path: str = "/e/member") -> Work:
    _render(client, path)  # warm: compiled statements, the sidebar's packs for this metadata version
    return fewest(svc.engine, lambda: _render(client, path))


# What one render of the list page reads, for a user whose roles the access control checks: her session,
# the metadata version and the site's time zone, her grants inside the list's transaction and once for
# what the page shows her, the page of records (the version check along), one title query per linked
# entity, the count, her saved views, the users to assign to, and her unread messages.
ROLE_USER_PAGE = [
    "sys_user",
    "sys_meta_state",
    "sys_access_state",
    "rec_member +version",
    "rec_store",
    "rec_member",
    "sys_access_state",
    "sys_saved_view",
    "sys_user",
    "sys_inbox",
]


def test_a_role_users_list_page_reads_the_same_for_3_rows_as_for_30(
    site_app: Flask, client: FlaskClient, svc: CrmServices
) -> None:
    _publish(svc)
    _add_members(svc, 3)
    few = _page_work(svc, client)
    assert few.tables == ROLE_USER_PAGE, few.tables
    _add_members(svc, 27, start=3)
    html = _render(client)
    assert html.count('class="crm-title-link"') == 30 and "North 29" in html and "South 29" in html
    assert PHONE not in html and "****" in html  # the masked column stays masked
    many = _page_work(svc, client)
    assert many.tables == ROLE_USER_PAGE, many.tables
    assert few.checkouts == many.checkouts


def test_an_administrators_list_page_with_filters_and_a_shared_view(
    site_app: Flask, client: FlaskClient, svc: CrmServices
) -> None:
    _publish(svc)
    _add_members(svc, 12)
    boss = admin_client(site_app, svc)
    page = _render(boss, "/e/member?tier=gold")
    saved = boss.post(
        "/e/member/views",
        data={"csrf_token": csrf_of(page), "name": "Gold", "query": "tier=gold", "roles": ["desk"]},
    )
    assert saved.status_code == 302
    work = _page_work(svc, boss, "/e/member?tier=gold&sort=-name")
    # No grants to read for an administrator; all roles to offer sharing to; the view is her own, so her
    # own roles are not read.
    assert work.tables == [
        "sys_user",
        "sys_meta_state",
        "rec_member +version",
        "rec_store",
        "rec_member",
        "sys_saved_view",
        "sys_role",
        "sys_user",
        "sys_inbox",
    ], work.tables
    # The clerk holds 'desk': she sees the view shared to it, her page reading her roles to tell.
    assert "Gold" in _render(client)
    assert "sys_user_role" in _page_work(svc, client).tables
