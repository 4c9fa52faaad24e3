"""Property test: over random row scopes, field rules and deals, the board (its cards, counts, sums, lazy
columns and moves) and the calendar show a user exactly the records her scope allows, and never a value
her field rules hide or mask; the same rules a plain Python model of them states."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_platform.services import CrmServices
from metamodel.access import AccessAdmin
from metamodel.systables import users
from tests.platform.pages.boardsupport import publish_deals
from tests.platform.pages.conftest import csrf_of

ON_POSTGRES = os.environ.get("CRM_TEST_DATABASE", "sqlite").strip().lower() == "postgresql"
SCOPE = st.sampled_from([None, "own", "all", "all"])
LEVEL = st.sampled_from([None, None, "masked", "hidden"])
STAGE_LEVEL = st.sampled_from([None, None, "readonly", "hidden"])


@dataclass
class World:
    scope: str | None  # the clerk's read scope on deals (None: no read permission)
    levels: dict[str, str | None]  # field -> hidden | masked | readonly | None
    deals: list[dict[str, Any]]  # title, owner (clerk | other | None), stage, priority, values


@st.composite
def worlds(draw: Any) -> World:
    levels = {
        "phone": draw(LEVEL),
        "amount": draw(LEVEL),
        "close_on": draw(LEVEL),
        "stage": draw(STAGE_LEVEL),
    }
    deals = []
    for index in range(draw(st.integers(1, 8))):
        deals.append(
            {
                "title": f"Deal {index}",
                "owner": draw(st.sampled_from(["clerk", "other", None])),
                "stage": draw(st.sampled_from(["new", "won", "lost"])),
                "priority": draw(st.sampled_from(["high", "low", None])),
                # Distinct, recognisable values: a leak of any of them shows up as a substring.
                "amount": 7_100_000 + index * 10_303,
                "phone": f"1391234{index:04d}",
                "close_on": f"2026-12-{10 + index:02d}",
            }
        )
    return World(draw(SCOPE), levels, deals)


def user_id(svc: CrmServices, name: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == name)).scalar_one())


def build(svc: CrmServices, world: World) -> list[int]:
    """Reset the deals and the clerk's role to the world; return the deals' ids."""
    admin = AccessAdmin(svc.engine)
    perms = [{"entity": "deal", "operation": "read", "scope": world.scope}] if world.scope else []
    # Another readable entity keeps the role meaningful when it has no deal permission.
    admin.set_permissions("agent", [*perms, {"entity": "company", "operation": "read", "scope": "all"}])
    rules = [
        {"entity": "deal", "field": name, "access": level}
        for name, level in world.levels.items()
        if level is not None
    ]
    admin.set_field_rules("agent", rules, svc.metadata.model())
    table = svc.metadata.model().entity("deal").table
    owners = {"clerk": user_id(svc, "clerk"), "other": user_id(svc, "other"), None: None}
    runtime = svc.runtime()
    with svc.engine.begin() as conn:
        conn.execute(table.delete())
    ids = []
    for deal in world.deals:
        values = {k: deal[k] for k in ("title", "priority", "amount", "phone", "close_on")}
        created = runtime.create("deal", values)
        ids.append(int(created["id"]))
        with svc.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.id == created["id"])
                .values(owner_id=owners[deal["owner"]], stage=deal["stage"])
            )
    return ids


@pytest.fixture
def agent(client: FlaskClient, svc: CrmServices) -> FlaskClient:
    """The signed-in clerk holds the role 'agent'; another user owns some deals."""
    from crm_platform.auth.users import create_user

    publish_deals(svc)
    create_user(svc.engine, "other", "ann-amber-kettle-42")
    admin = AccessAdmin(svc.engine)
    admin.create_role("agent")
    admin.assign_role(user_id(svc, "clerk"), "agent")
    return client


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="card card-sm crm-card" data-id="(\d+)"', html)]


@settings(
    max_examples=10 if ON_POSTGRES else 30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_board_and_calendar_show_what_the_rules_allow(
    agent: FlaskClient, svc: CrmServices, world: World
) -> None:
    ids = build(svc, world)
    visible = {
        rid
        for rid, deal in zip(ids, world.deals, strict=True)
        if world.scope == "all" or (world.scope == "own" and deal["owner"] == "clerk")
    }
    closed = {name for name, level in world.levels.items() if level in ("hidden", "masked")}
    board = agent.get("/e/deal/board?lang=en")
    calendar = agent.get("/e/deal/calendar?start=2026-12-01&lang=en")
    if world.scope is None:
        assert board.status_code == 403 and calendar.status_code == 403
        return
    assert board.status_code == 200, board.text
    html = board.text
    grouped_by = "stage" if "stage" not in closed else "priority"
    assert f'<option value="{grouped_by}" selected>' in html
    # rows: per column exactly the visible deals with that value, counted, and (when open) summed
    columns = re.findall(r'<section class="crm-board-col" data-value="([^"]*)"(.*?)</section>', html, re.S)
    expected: dict[str, list[int]] = {}
    for rid, deal in zip(ids, world.deals, strict=True):
        if rid in visible:
            expected.setdefault(deal[grouped_by] or "__none__", []).append(rid)
    assert {v for v, _ in columns} >= set(expected)
    for value, body in columns:
        mine = expected.get(value, [])
        assert sorted(card_ids(body)) == sorted(mine), value
        assert re.search(r'crm-board-count"[^>]*>(\d+)<', body).group(1) == str(len(mine))
        if "amount" not in closed and mine:
            total = sum(d["amount"] for rid, d in zip(ids, world.deals, strict=True) if rid in mine)
            assert f"{total:,}.00" in body, (value, total)
    # fields: no hidden or masked value anywhere on the page, nor offered to group or sum by
    texts = {
        "phone": [d["phone"] for d in world.deals],
        "amount": [f"{d['amount']:,}" for d in world.deals],
        "close_on": [d["close_on"] for d in world.deals],
    }
    for name in closed - {"stage"}:
        for value in texts[name]:
            assert value not in html, (name, value)
    assert ('<option value="amount"' in html) == ("amount" not in closed)
    assert ('<option value="stage"' in html) == ("stage" not in closed)
    # the calendar: the visible deals on their days, or no calendar when the date is closed to her
    assert calendar.status_code == 200
    placed = re.findall(r'data-day="([0-9-]+)"[^>]*>(.*?)</ul>', calendar.text, re.S)
    found = {int(i): day for day, body in placed for i in re.findall(r'data-id="(\d+)"', body)}
    if "close_on" in closed:
        assert "No calendar for this list" in calendar.text and not found
    else:
        dates = {rid: d["close_on"] for rid, d in zip(ids, world.deals, strict=True)}
        assert found == {rid: dates[rid] for rid in visible}
    for name in closed - {"stage", "close_on"}:
        for value in texts[name]:
            assert value not in calendar.text
    # writes: a deal outside her scope cannot be moved, on the board or the calendar
    token = csrf_of(html)
    for rid in set(ids) - visible:
        moved = agent.post(
            "/e/deal/board/move", data={"record_id": str(rid), "to": "lost"}, headers={"X-CSRFToken": token}
        )
        assert moved.status_code == 404
        dated = agent.post(
            "/e/deal/calendar/move",
            data={"record_id": str(rid), "day": "2026-12-01"},
            headers={"X-CSRFToken": token},
        )
        assert dated.status_code in (400, 404)
    with svc.engine.connect() as conn:
        table = svc.metadata.model().entity("deal").table
        stored = dict(conn.execute(sa.select(table.c.id, table.c.stage)).all())
    assert [stored[rid] for rid in ids] == [d["stage"] for d in world.deals]
