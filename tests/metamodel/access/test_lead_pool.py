"""The lead pool in the record runtime: visibility, claim, limit, release, concurrent claims, auto-return."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from metamodel.access import AccessDenied
from metamodel.errors import BadQuery, Conflict, MetadataInvalid, NotFound
from metamodel.pool.errors import AlreadyClaimed, ClaimLimitReached, NoPool, NotInPool
from metamodel.pool.service import LeadPool
from metamodel.pool.sweep import return_stale
from metamodel.records.hooks import Actor
from metamodel.records.query import Filter, ListQuery
from metamodel.systables import audit_log, pool_holdings
from tests.metamodel.access.poolsupport import PoolShop, lead_entity, make_pool_shop
from tests.metamodel.mmsupport import Site, as_bundle, entity


@pytest.fixture
def ps(site: Site) -> PoolShop:
    return make_pool_shop(site)


def companies(ps: PoolShop, user: int, **query: Any) -> list[str]:
    page = ps.runtime.list("lead", ListQuery(sort="id", limit=500, **query), ps.shop.actor(user))
    return [item["company"] for item in page.items]


def audit_rows(ps: PoolShop, action: str) -> list[dict[str, Any]]:
    with ps.shop.site.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))
        return [dict(r) for r in rows.mappings()]


# --- configuration ------------------------------------------------------------------------------


def problems_of(site: Site, pool: dict[str, Any], **extra: Any) -> dict[str, str]:
    doc = lead_entity(pool)
    doc.update(extra)
    with pytest.raises(
        MetadataInvalid
    ) as caught:  # the schema's problems come at once, the references at publish
        site.svc.replace_draft(as_bundle([doc]), "tester")
        site.svc.publish("tester", "")
    return {p.path: p.message for p in caught.value.problems}


def test_pool_settings_are_checked_with_paths(site: Site) -> None:
    found = problems_of(site, {"contact_fields": ["phone", "mobile"], "follow_up_field": "company"})
    assert "unknown field 'mobile'" in found["entity.lead.pool.contact_fields[1]"]
    assert "must be a date or datetime" in found["entity.lead.pool.follow_up_field"]
    assert "needs return_after_days" in found["entity.lead.pool.return_after_days"]
    found = problems_of(site, {"contact_fields": ["company"]})
    assert "title field" in found["entity.lead.pool.contact_fields[0]"]


@pytest.mark.parametrize(
    "key, value", [("claim_limit", 0), ("return_after_days", -3), ("claim_limit", "20"), ("colour", 1)]
)
def test_pool_numbers_must_be_positive_whole_numbers(site: Site, key: str, value: Any) -> None:
    found = problems_of(site, {"contact_fields": ["phone"], key: value})
    assert any(path.startswith("entity.lead.pool") for path in found), found


def test_a_child_entity_has_no_pool(site: Site) -> None:
    line = entity("lead_line", [{"name": "note", "type": "text"}], is_child=True, pool={"contact_fields": []})
    parent = lead_entity()
    parent["fields"].append({"name": "lines", "type": "child_table", "child_entity": "lead_line"})
    site.svc.replace_draft(as_bundle([parent, line]), "tester")
    with pytest.raises(MetadataInvalid) as caught:
        site.svc.publish("tester", "")
    assert "entity.lead_line.pool" in {p.path for p in caught.value.problems}


# --- visibility ---------------------------------------------------------------------------------


def test_pool_users_see_their_own_and_the_pool_but_not_other_peoples_leads(ps: PoolShop) -> None:
    ps.lead("pooled")
    ps.lead("sues", owner=ps.sales)
    ps.lead("sams", owner=ps.sam)
    assert companies(ps, ps.sales) == ["pooled", "sues"]
    assert companies(ps, ps.sam) == ["pooled", "sams"]
    assert companies(ps, ps.manager) == ["pooled", "sues", "sams"]


def test_without_the_claim_permission_the_pool_is_invisible(ps: PoolShop) -> None:
    ps.shop.admin.create_role("plain")
    ps.shop.admin.set_permissions("plain", [{"entity": "lead", "operation": "read", "scope": "own"}])
    plain = ps.shop.user("pat", roles=("plain",))
    pooled = ps.lead("pooled")
    assert companies(ps, plain) == []
    with pytest.raises(NotFound):
        ps.pool.claim("lead", pooled, ps.shop.actor(plain))


def test_a_claim_only_role_reads_the_pool(ps: PoolShop) -> None:
    ps.shop.admin.create_role("hunter")
    ps.shop.admin.set_permissions("hunter", [{"entity": "lead", "operation": "claim", "scope": "all"}])
    hunter = ps.shop.user("hal", roles=("hunter",))
    ps.lead("pooled")
    ps.lead("sues", owner=ps.sales)
    assert companies(ps, hunter) == ["pooled"]


# --- claim and release --------------------------------------------------------------------------


def test_claim_makes_the_claimer_the_owner_and_is_audited(ps: PoolShop) -> None:
    pooled = ps.lead("pooled")
    record = ps.pool.claim("lead", pooled, ps.shop.actor(ps.sales))
    assert record["owner_id"] == ps.sales and record["lock_version"] == 2
    assert companies(ps, ps.sam) == []  # gone from the pool for everyone else
    (entry,) = audit_rows(ps, "record.claim")
    assert (entry["actor_id"], entry["record_id"], entry["entity"]) == (ps.sales, pooled, "lead")
    assert entry["changes"] == {"owner_id": [None, ps.sales]}
    assert audit_rows(ps, "record.update") == []


def test_claiming_a_taken_or_own_record_is_a_clear_conflict(ps: PoolShop) -> None:
    pooled = ps.lead("pooled")
    ps.pool.claim("lead", pooled, ps.shop.actor(ps.sales))
    with pytest.raises(AlreadyClaimed, match="already yours") as mine:
        ps.pool.claim("lead", pooled, ps.shop.actor(ps.sales))
    assert mine.value.status == 409
    with pytest.raises(AlreadyClaimed, match="no longer in the pool"):  # sam cannot see it any more
        ps.pool.claim("lead", pooled, ps.shop.actor(ps.sam))
    with pytest.raises(NotFound):  # nor read it
        ps.runtime.get("lead", pooled, ps.shop.actor(ps.sam))
    with pytest.raises(AlreadyClaimed, match="claimed by someone else"):
        ps.pool.claim("lead", pooled, ps.shop.actor(ps.manager))


def test_claim_limit_counts_records_claimed_and_still_held(ps: PoolShop) -> None:
    leads = [ps.lead(f"lead {i}") for i in range(4)]
    ps.lead("assigned", owner=ps.sales)  # handed over directly, not claimed: does not count
    sue = ps.shop.actor(ps.sales)
    ps.pool.claim("lead", leads[0], sue)
    ps.pool.claim("lead", leads[1], sue)
    with pytest.raises(ClaimLimitReached, match="limit is 2") as caught:
        ps.pool.claim("lead", leads[2], sue)
    assert caught.value.status == 409 and caught.value.values["held"] == 2
    ps.pool.release("lead", leads[0], sue)
    ps.pool.claim("lead", leads[2], sue)
    # A manager hands one of her claimed leads to sam: it no longer counts against her.
    ps.runtime.update("lead", leads[1], {"owner_id": ps.sam}, ps.shop.actor(ps.manager))
    ps.pool.claim("lead", leads[3], sue)
    assert sorted(companies(ps, ps.sales)) == ["assigned", "lead 0", "lead 2", "lead 3"]


def test_release_by_owner_or_manager_only(ps: PoolShop) -> None:
    first, second = ps.lead("first"), ps.lead("second")
    ps.pool.claim("lead", first, ps.shop.actor(ps.sales))
    ps.pool.claim("lead", second, ps.shop.actor(ps.sales))
    with pytest.raises(NotFound):
        ps.pool.release("lead", first, ps.shop.actor(ps.sam))
    released = ps.pool.release("lead", first, ps.shop.actor(ps.sales))
    assert released["owner_id"] is None
    with pytest.raises(NotInPool):
        ps.pool.release("lead", first, ps.shop.actor(ps.sales))
    ps.pool.release("lead", second, ps.shop.actor(ps.manager))
    assert [e["actor_id"] for e in audit_rows(ps, "record.release")] == [ps.sales, ps.manager]
    assert companies(ps, ps.sam) == ["first", "second"]


def test_release_needs_claim_or_update_rights(ps: PoolShop) -> None:
    ps.shop.admin.create_role("viewer")
    ps.shop.admin.set_permissions("viewer", [{"entity": "lead", "operation": "read", "scope": "all"}])
    viewer = ps.shop.user("vic", roles=("viewer",))
    held = ps.lead("held", owner=ps.sales)
    with pytest.raises(AccessDenied, match="release"):
        ps.pool.release("lead", held, ps.shop.actor(viewer))


def test_an_entity_without_pool_refuses_claims(site: Site) -> None:
    doc = lead_entity()
    doc.pop("pool")
    site.publish([doc])
    pool = LeadPool(site.runtime())
    with pytest.raises(NoPool) as caught:
        pool.claim("lead", 1, Actor(1, "u"))
    assert caught.value.status == 404 and "lead records have no pool" in caught.value.message


def test_a_stale_owner_change_loses_with_a_conflict(ps: PoolShop) -> None:
    pooled = ps.lead("pooled")
    ps.pool.claim("lead", pooled, ps.shop.actor(ps.sam))
    with pytest.raises(Conflict):
        ps.runtime.set_owner(
            "lead", pooled, ps.sales, ps.shop.actor(ps.manager), operation="claim", expected_version=1
        )


def test_concurrent_claims_of_one_record_have_exactly_one_winner(site: Site) -> None:
    ps = make_pool_shop(site, {"contact_fields": ["phone"], "claim_limit": 100})
    leads = [ps.lead(f"race {i}") for i in range(4)]
    for record_id in leads:
        outcomes: dict[int, str] = {}
        barrier = threading.Barrier(2)

        def claim(
            user: int,
            record_id: int = record_id,
            outcomes: dict[int, str] = outcomes,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            try:
                ps.pool.claim("lead", record_id, ps.shop.actor(user))
                outcomes[user] = "won"
            except Exception as exc:  # every outcome is checked below
                outcomes[user] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=claim, args=(user,)) for user in (ps.sales, ps.sam)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes.values()).count("won") == 1, outcomes
        loser = next(outcome for outcome in outcomes.values() if outcome != "won")
        assert loser.startswith("AlreadyClaimed"), outcomes
        winner = next(user for user, outcome in outcomes.items() if outcome == "won")
        record = ps.runtime.get("lead", record_id)
        assert record["owner_id"] == winner and record["lock_version"] == 2
    assert len(audit_rows(ps, "record.claim")) == len(leads)


# --- auto-return ----------------------------------------------------------------------------------


def test_records_without_follow_up_return_to_the_pool(ps: PoolShop) -> None:
    clock = ps.shop.site.clock
    start = clock.now
    quiet = ps.lead("quiet")
    busy = ps.lead("busy")
    ps.pool.claim("lead", quiet, ps.shop.actor(ps.sales))
    ps.pool.claim("lead", busy, ps.shop.actor(ps.sam))
    # Old follow-up, but held since long: returns; a lead created with an owner counts from creation.
    assigned = ps.lead(
        "assigned", owner=ps.sales, last_contact_at=(start - dt.timedelta(days=30)).isoformat()
    )
    clock.now = start + dt.timedelta(days=5)
    ps.runtime.update("lead", busy, {"last_contact_at": clock.now.isoformat()}, ps.shop.actor(ps.sam))
    model = ps.runtime.model.entity("lead")
    with ps.shop.site.engine.begin() as conn:
        assert return_stale(conn, model, start + dt.timedelta(days=6, hours=23)) == []
    later = start + dt.timedelta(days=7, minutes=1)
    with ps.shop.site.engine.begin() as conn:
        returned = return_stale(conn, model, later)
    assert sorted(returned) == sorted([(quiet, ps.sales), (assigned, ps.sales)])
    assert ps.runtime.get("lead", quiet)["owner_id"] is None
    assert ps.runtime.get("lead", busy)["owner_id"] == ps.sam
    entries = audit_rows(ps, "record.pool_return")
    assert {e["record_id"] for e in entries} == {quiet, assigned}
    assert all(e["actor_id"] is None and e["actor_name"] == "system" for e in entries)
    assert entries[0]["changes"] == {"owner_id": [ps.sales, None]}
    with ps.shop.site.engine.connect() as conn:
        held = conn.execute(sa.select(pool_holdings.c.record_id)).scalars().all()
    assert held == [busy]
    # Returned records are claimable again, and a fresh claim starts a fresh follow-up clock.
    clock.now = later
    ps.pool.claim("lead", quiet, ps.shop.actor(ps.sam))
    with ps.shop.site.engine.begin() as conn:
        assert return_stale(conn, model, later + dt.timedelta(days=1)) == []


def test_without_follow_up_field_updated_at_counts(site: Site) -> None:
    ps = make_pool_shop(site, {"contact_fields": ["phone"], "return_after_days": 3})
    lead = ps.lead("lead", owner=ps.sales)
    model = ps.runtime.model.entity("lead")
    site.clock.now += dt.timedelta(days=2)
    ps.runtime.update("lead", lead, {"company": "renamed"}, ps.shop.actor(ps.sales))
    with site.engine.begin() as conn:
        assert return_stale(conn, model, site.clock.now + dt.timedelta(days=2)) == []
        assert return_stale(conn, model, site.clock.now + dt.timedelta(days=3, seconds=1)) == [
            (lead, ps.sales)
        ]


# --- masking and no oracle ----------------------------------------------------------------------


def test_contact_fields_are_masked_until_claimed(ps: PoolShop) -> None:
    pooled = ps.lead("pooled", phone="13812345678")
    sue = ps.shop.actor(ps.sales)
    (item,) = ps.runtime.list("lead", ListQuery(), sue).items
    assert (item["phone"], item["email"], item["company"]) == ("138****5678", "p***@example.com", "pooled")
    assert ps.runtime.get("lead", pooled, sue)["phone"] == "138****5678"
    assert ps.runtime.get("lead", pooled, ps.shop.actor(ps.manager))["phone"] == "13812345678"
    claimed = ps.pool.claim("lead", pooled, sue)
    assert (claimed["phone"], claimed["email"]) == ("13812345678", "pooled@example.com")
    assert ps.runtime.get("lead", pooled, sue)["phone"] == "13812345678"
    released = ps.pool.release("lead", pooled, sue)
    assert released["phone"] == "138****5678"


def test_pool_users_cannot_filter_sort_or_search_by_contact_fields(ps: PoolShop) -> None:
    ps.lead("pooled", phone="13812345678")
    ps.lead("sues", owner=ps.sales, phone="13900001111")
    sue = ps.shop.actor(ps.sales)
    for query in (
        ListQuery(filters=[Filter("phone", "eq", "13812345678")]),
        ListQuery(filters=[Filter("email", "contains", "pooled")]),
        ListQuery(sort="phone"),
        ListQuery(sort="-email"),
    ):
        with pytest.raises(BadQuery, match="contact field"):
            ps.runtime.list("lead", query, sue)
    assert ps.runtime.list("lead", ListQuery(search="1381234"), sue).items == []
    assert ps.runtime.list("lead", ListQuery(search="pooled@"), sue).items == []
    assert companies(ps, ps.sales, search="pooled") == ["pooled"]  # other fields still search
    # A manager reads every lead anyway: nothing is hidden from her.
    manager = ps.shop.actor(ps.manager)
    found = ps.runtime.list("lead", ListQuery(filters=[Filter("phone", "eq", "13812345678")]), manager).items
    assert [item["company"] for item in found] == ["pooled"]
    assert companies(ps, ps.manager, search="1381234") == ["pooled"]


def test_deleting_a_claimed_record_drops_its_holding(ps: PoolShop) -> None:
    pooled = ps.lead("pooled")
    ps.pool.claim("lead", pooled, ps.shop.actor(ps.sales))
    ps.runtime.delete("lead", pooled)
    with ps.shop.site.engine.connect() as conn:
        assert conn.execute(sa.select(pool_holdings.c.record_id)).scalars().all() == []


def test_a_claim_overtaken_between_its_read_and_its_write_is_a_conflict(site: Site, db_kind: str) -> None:
    """Sue reads the record, then sam claims it before sue writes: sue gets AlreadyClaimed, never 404 or a second owner."""
    ps = make_pool_shop(site)
    target = ps.lead("contested")
    reads: dict[int, int] = {}
    sam_done = threading.Event()

    def slow_sue(actor: Any, conn: Any) -> Any:
        # The runtime resolves the actor once per operation: sue's second operation is the write.
        if actor.user_id == ps.sales:
            reads[ps.sales] = reads.get(ps.sales, 0) + 1
            if reads[ps.sales] == 2:
                sam_started.set()
                # PostgreSQL: sam commits meanwhile. SQLite: sam waits for sue's write lock, so sue goes on.
                sam_done.wait(2)
        return actor

    sam_started = threading.Event()
    ps.runtime.hooks.actor_resolvers.insert(0, slow_sue)
    outcomes: dict[str, str] = {}

    def claim(name: str, user: int) -> None:
        try:
            ps.pool.claim("lead", target, ps.shop.actor(user))
            outcomes[name] = "won"
        except Exception as exc:  # every outcome is checked below
            outcomes[name] = f"{type(exc).__name__}: {exc}"
        if name == "sam":
            sam_done.set()

    sue = threading.Thread(target=claim, args=("sue", ps.sales))
    sue.start()
    assert sam_started.wait(10)
    sam = threading.Thread(target=claim, args=("sam", ps.sam))
    sam.start()
    sue.join(30)
    sam.join(30)
    winner = "sam" if db_kind == "postgresql" else "sue"
    loser = "sue" if winner == "sam" else "sam"
    assert outcomes[winner] == "won", outcomes
    assert outcomes[loser].startswith("AlreadyClaimed"), outcomes
    owner = ps.runtime.get("lead", target)["owner_id"]
    assert owner == (ps.sam if winner == "sam" else ps.sales)
