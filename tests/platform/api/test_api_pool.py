"""The lead pool through the API: masked until claimed, claim races and limits, release, auto-return, no oracle."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from crm_platform.startup import build_scheduler
from metamodel.systables import users
from rule_engine.tables import inbox
from tests.metamodel.mmsupport import FakeClock
from tests.platform.api.apisupport import Api, error_of

PASSWORD = "a-long-enough-password-1"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LEAD = {
    "label": {"en": "Lead", "zh-CN": "线索"},
    "title_field": "company",
    "fields": [
        {"name": "company", "type": "text", "required": True, "searchable": True},
        {"name": "phone", "type": "phone", "searchable": True},
        {"name": "email", "type": "email", "searchable": True},
        {"name": "last_contact_at", "type": "datetime"},
    ],
    "pool": {
        "contact_fields": ["phone", "email"],
        "claim_limit": 2,
        "return_after_days": 7,
        "follow_up_field": "last_contact_at",
    },
}


def user_id(svc: CrmServices, username: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())


@pytest.fixture
def clock(api_svc: CrmServices) -> FakeClock:
    """The record runtime's clock, fixed at T0."""
    fixed = FakeClock(T0)
    api_svc.clock = fixed
    return fixed


@pytest.fixture
def bob(api_app: Flask, api_svc: CrmServices) -> Api:
    """A second sales person."""
    account = create_user(api_svc.engine, "bob", PASSWORD)
    return Api(api_app.test_client(), create_token(api_svc.engine, account.id, "tests"))


@pytest.fixture
def pool(admin: Api, user: Api, bob: Api, api_svc: CrmServices, clock: FakeClock) -> dict[str, Any]:
    """Entity lead with a pool; alice and bob are sales (own leads, claim from the pool); three pooled leads."""
    admin.define("entity", "lead", LEAD)
    admin.publish()
    admin.ok("POST", "/access/roles", {"name": "sales"}, status=201)
    rules = [{"entity": "lead", "operation": op, "scope": "own"} for op in ("read", "create", "update")]
    rules.append({"entity": "lead", "operation": "claim", "scope": "all"})
    admin.ok("PUT", "/access/roles/sales/permissions", {"permissions": rules})
    ids = {"alice": user_id(api_svc, "alice"), "bob": user_id(api_svc, "bob")}
    for uid in ids.values():
        admin.ok("POST", f"/access/users/{uid}/roles", {"role": "sales"})
    leads = [
        admin.ok(
            "POST",
            "/records/lead",
            {"company": f"Lead {n}", "phone": f"1381234567{n}", "email": f"boss{n}@acme.cn"},
            status=201,
        )
        for n in range(3)
    ]
    assert all(lead["owner_id"] == user_id(api_svc, "admin") for lead in leads)
    for lead in leads:  # into the pool
        admin.ok("POST", f"/records/lead/{lead['id']}/release")
    return {**ids, "leads": [lead["id"] for lead in leads]}


def test_masked_before_claim_and_visible_after(pool: dict[str, Any], user: Api, bob: Api) -> None:
    first = pool["leads"][0]
    items = user.ok("GET", "/records/lead?sort=id")["items"]
    assert (items[0]["phone"], items[0]["email"]) == ("138****5670", "b***@acme.cn")
    assert user.ok("GET", f"/records/lead/{first}")["phone"] == "138****5670"
    claimed = user.ok("POST", f"/records/lead/{first}/claim")
    assert (claimed["phone"], claimed["email"], claimed["owner_id"]) == (
        "13812345670",
        "boss0@acme.cn",
        pool["alice"],
    )
    assert user.ok("GET", f"/records/lead/{first}")["phone"] == "13812345670"
    assert first not in [i["id"] for i in bob.ok("GET", "/records/lead")["items"]]


def test_second_claim_is_a_clear_409_in_both_locales(pool: dict[str, Any], user: Api, bob: Api) -> None:
    first = pool["leads"][0]
    user.ok("POST", f"/records/lead/{first}/claim")
    response = bob.post(f"/records/lead/{first}/claim")
    assert response.status_code == 409
    assert error_of(response)["code"] == "already_claimed"
    assert error_of(response)["message"] == f"Lead {first} is no longer in the pool"
    chinese = bob.post(f"/records/lead/{first}/claim?lang=zh-CN")
    assert error_of(chinese)["message"] == f"线索 {first} 已不在公海中"
    again = user.post(f"/records/lead/{first}/claim")
    assert error_of(again)["code"] == "already_claimed" and "already yours" in error_of(again)["message"]


def test_claim_limit(pool: dict[str, Any], user: Api) -> None:
    one, two, three = pool["leads"]
    user.ok("POST", f"/records/lead/{one}/claim")
    user.ok("POST", f"/records/lead/{two}/claim")
    response = user.post(f"/records/lead/{three}/claim")
    error = error_of(response)
    assert response.status_code == 409 and error["code"] == "claim_limit_reached"
    assert (error["limit"], error["held"]) == (2, 2) and "the limit is 2" in error["message"]
    assert error_of(user.post(f"/records/lead/{three}/claim?lang=zh-CN"))["message"] == (
        "您已从公海领取并持有 2 条线索记录，上限为 2 条；请先退回或处理其中一条"
    )
    user.ok("POST", f"/records/lead/{one}/release")
    assert user.ok("POST", f"/records/lead/{three}/claim")["owner_id"] == pool["alice"]


def test_concurrent_claims_one_wins_the_other_gets_409(pool: dict[str, Any], user: Api, bob: Api) -> None:
    target = pool["leads"][1]
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def claim(name: str, api: Api) -> None:
        barrier.wait()
        statuses[name] = api.post(f"/records/lead/{target}/claim").status_code

    threads = [threading.Thread(target=claim, args=pair) for pair in (("alice", user), ("bob", bob))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses.values()) == [200, 409], statuses


def test_release_rights_and_audit(pool: dict[str, Any], admin: Api, user: Api, bob: Api) -> None:
    first = pool["leads"][0]
    user.ok("POST", f"/records/lead/{first}/claim")
    assert bob.post(f"/records/lead/{first}/release").status_code == 404  # not his, not visible
    assert user.ok("POST", f"/records/lead/{first}/release")["owner_id"] is None
    response = user.post(f"/records/lead/{first}/release")
    assert response.status_code == 409 and error_of(response)["code"] == "not_claimed"
    claims = admin.ok("GET", f"/audit?action=record.claim&record_id={first}&entity=lead")["items"]
    releases = admin.ok("GET", f"/audit?action=record.release&record_id={first}&entity=lead")["items"]
    assert [e["actor_name"] for e in claims] == ["alice"]
    assert [e["actor_name"] for e in releases] == [
        "alice",
        "admin",
    ]  # newest first: the fixture's release last


def test_an_entity_without_pool_answers_404(admin: Api) -> None:
    admin.define("entity", "note", {"fields": [{"name": "text", "type": "text"}]})
    admin.publish()
    note = admin.ok("POST", "/records/note", {"text": "x"}, status=201)
    response = admin.post(f"/records/note/{note['id']}/claim")
    assert response.status_code == 404 and error_of(response)["code"] == "no_pool"


def test_no_leak_through_filter_sort_or_search(pool: dict[str, Any], user: Api) -> None:
    for query in ("phone=13812345670", "email__contains=boss0", "sort=phone", "sort=-email"):
        response = user.get(f"/records/lead?{query}")
        assert response.status_code == 400, query
        assert "contact field" in error_of(response)["message"]
    assert user.ok("GET", "/records/lead?q=13812345670")["items"] == []
    assert user.ok("GET", "/records/lead?q=boss0")["items"] == []
    assert [i["company"] for i in user.ok("GET", "/records/lead?q=Lead 0")["items"]] == ["Lead 0"]


def test_auto_return_runs_once_per_period_and_notifies(
    pool: dict[str, Any], api_app: Flask, api_svc: CrmServices, user: Api, bob: Api, clock: FakeClock
) -> None:
    one, two, _ = pool["leads"]
    user.ok("POST", f"/records/lead/{one}/claim")
    bob.ok("POST", f"/records/lead/{two}/claim")
    clock.now = T0 + dt.timedelta(days=6)
    bob.ok("PATCH", f"/records/lead/{two}", {"last_contact_at": clock.now.isoformat()})
    scheduler = build_scheduler(api_svc, api_app.config)
    scheduler.clock = FakeClock(T0 + dt.timedelta(days=7, minutes=5))
    first = scheduler.tick()
    assert first["jobs"]["pool_return"] == {"lead": 1}
    assert scheduler.tick()["jobs"]["pool_return"] == "taken"  # same period: never twice
    assert user.ok("GET", f"/records/lead/{one}")["owner_id"] is None
    assert user.ok("GET", f"/records/lead/{one}")["phone"] == "138****5670"
    assert bob.ok("GET", f"/records/lead/{two}")["owner_id"] == pool["bob"]
    with api_svc.engine.connect() as conn:
        notes = conn.execute(sa.select(inbox.c.user_id, inbox.c.subject, inbox.c.record_id)).all()
    assert [(n.user_id, n.record_id) for n in notes] == [(pool["alice"], one)]
    assert "returned to the pool" in notes[0].subject and "退回公海" in notes[0].subject
    scheduler.clock = FakeClock(
        T0 + dt.timedelta(days=13, hours=23)
    )  # a later period: bob's follow-up is 7 days old
    assert scheduler.tick()["jobs"]["pool_return"] == {"lead": 1}
    assert bob.ok("GET", f"/records/lead/{two}")["owner_id"] is None


def test_no_leak_through_history_or_reveal(pool: dict[str, Any], admin: Api, user: Api) -> None:
    first = pool["leads"][0]
    history = user.ok("GET", f"/records/lead/{first}/audit")["items"]
    created = next(entry for entry in history if entry["action"] == "record.create")
    assert created["changes"]["phone"] == [None, "138****5670"]
    assert created["changes"]["email"] == [None, "b***@acme.cn"]
    assert created["changes"]["company"] == [None, "Lead 0"]
    refused = user.post(f"/records/lead/{first}/reveal", {"fields": ["phone"]})
    assert refused.status_code == 403 and "claim lead" in error_of(refused)["message"]
    # Claimed, the history and the record are hers in clear; the administrator always saw them.
    user.ok("POST", f"/records/lead/{first}/claim")
    history = user.ok("GET", f"/records/lead/{first}/audit")["items"]
    created = next(entry for entry in history if entry["action"] == "record.create")
    assert created["changes"]["phone"] == [None, "13812345670"]
    assert user.ok("POST", f"/records/lead/{first}/reveal", {"fields": ["phone"]})["values"] == {
        "phone": "13812345670"
    }
