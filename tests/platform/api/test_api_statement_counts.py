"""Database work per API call, counted (not timed): one connection, no statement that could be saved.

bench/api_edge.py and bench/records_crud.py time these paths; this test pins the counts behind their
figures so a change that adds a round trip (a second checkout, titles read apart from the record, a
per-call metadata read) fails here instead of slowly eroding the ratios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import Engine, event

from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api

STORE = {"name": "store", "title_field": "name", "fields": [{"name": "name", "type": "text"}]}
MEMBER = {
    "name": "member",
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True},
        {"name": "store", "type": "link", "target": "store"},
        {"name": "home", "type": "link", "target": "store"},
    ],
}
# Periodic refreshes (the token cache's 5 s bound, the metadata re-check) may add work to one call;
# the fewest of several calls is the steady state.
CALLS = 4


@dataclass
class Work:
    """The statements (first words) and connection checkouts of one call."""

    statements: list[str] = field(default_factory=list)
    checkouts: int = 0


@contextmanager
def counted(engine: Engine) -> Iterator[Work]:
    """Count what ``engine`` does inside the block."""
    work = Work()

    def statement(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        words = text.split()
        # The first words, and the metadata-version read when a statement carries it along.
        work.statements.append(" ".join(words[:4]) + (" +sys_meta_state" if "sys_meta_state" in text else ""))

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
    """Return the work of the cheapest of CALLS calls."""
    works = []
    for _ in range(CALLS):
        with counted(engine) as work:
            call()
        works.append(work)
    return min(works, key=lambda w: (len(w.statements), w.checkouts))


def on_record_tables(work: Work) -> list[str]:
    """The statements that touch record tables."""
    return [s for s in work.statements if "rec_" in s or s.startswith("INSERT")]


def setup(admin: Api) -> tuple[int, int]:
    """Publish a store and a member with two links; return a member's and a store's id."""
    admin.define("entity", "store", STORE)
    admin.define("entity", "member", MEMBER)
    admin.publish("counts")
    store = admin.ok("POST", "/records/store", {"name": "North"}, status=201)["id"]
    member = admin.ok("POST", "/records/member", {"name": "Ann", "store": store, "home": store}, status=201)
    return int(member["id"]), int(store)


def test_get_one_record_is_one_connection_and_one_record_statement(
    api_app: Flask, api_svc: CrmServices, admin: Api
) -> None:
    """GET one record: one checkout; one SELECT reads the record, both link titles and the metadata version."""
    member_id, _store = setup(admin)
    path = f"/records/member/{member_id}"
    assert admin.ok("GET", path)["_titles"] == {"store": "North", "home": "North"}
    work = fewest(api_svc.engine, lambda: admin.ok("GET", path))
    assert work.checkouts == 1
    record_statements = on_record_tables(work)
    assert len(record_statements) == 1 and record_statements[0].startswith("SELECT rec_member.id,")
    assert record_statements[0].endswith("+sys_meta_state")
    # The version check rides in the record's SELECT; BEGIN is no cursor statement (psycopg's, and the
    # deferred BEGIN on SQLite goes to the driver directly): the whole call is that one statement.
    assert len(work.statements) == 1, work.statements


def test_a_list_page_reads_titles_per_page_not_per_row(api_svc: CrmServices, admin: Api) -> None:
    """A page of 20 members with two links to stores: one SELECT of rows, one of titles per linked entity."""
    _member, store = setup(admin)
    for number in range(20):
        admin.ok("POST", "/records/member", {"name": f"M{number}", "store": store, "home": store}, status=201)
    work = fewest(api_svc.engine, lambda: admin.ok("GET", "/records/member?limit=20"))
    assert work.checkouts == 1
    record_statements = on_record_tables(work)
    assert len(record_statements) == 1 + 1, work.statements
    assert record_statements[0].endswith("+sys_meta_state")  # the version check rides in the page's SELECT


def test_create_is_one_connection_without_redundant_statements(api_svc: CrmServices, admin: Api) -> None:
    """POST a record with a link: the version check, the link check, one INSERT and one read-back."""
    _member, store = setup(admin)
    work = fewest(
        api_svc.engine,
        lambda: admin.ok("POST", "/records/member", {"name": "Bo", "store": store}, status=201),
    )
    assert work.checkouts == 1
    inserts = [s for s in work.statements if s.startswith("INSERT")]
    assert inserts[0].startswith("INSERT INTO rec_member")
    reads = [s for s in work.statements if s.startswith("SELECT rec_member.id, rec_member.record_no")]
    assert len(reads) == 1  # the stored record and its link titles, read back in one statement
    assert not any("rec_store.name" in s for s in work.statements), work.statements
    assert len([s for s in work.statements if "sys_meta_state" in s]) == 1


def test_no_engine_event_switches_on_dispatch_for_every_statement(
    api_app: Flask, api_svc: CrmServices
) -> None:
    """SQLite's BEGIN and the auth cache's write watch are dialect hooks: the engine has no connection events.

    One engine-level listener makes SQLAlchemy dispatch events on every statement, begin and commit of
    every connection (6 % of a one-record GET); a write connection listens for its own BEGIN IMMEDIATE.
    """
    assert not api_svc.engine._has_events
    with api_svc.engine.connect() as conn:
        assert not conn._has_events
    with api_svc.engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        assert conn._has_events == (conn.dialect.name == "sqlite")


def test_the_route_limiter_adds_no_hook_to_every_request(api_app: Flask) -> None:
    """Flask-Limiter's before, after and teardown hooks are not installed (the budget is counted apart)."""
    hooks = [*api_app.before_request_funcs.get(None, []), *api_app.after_request_funcs.get(None, [])]
    hooks += api_app.teardown_request_funcs.get(None, [])
    names = [repr(getattr(hook, "func", hook)) for hook in hooks]
    assert not [name for name in names if "Limiter" in name], names
