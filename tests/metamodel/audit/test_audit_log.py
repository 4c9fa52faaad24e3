"""Publishes and rollbacks are logged; the log is append-only in the database; CSV cells are safe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from metamodel.audit import AuditQuery, browse, csv_lines, record_access_change, record_publish
from metamodel.audit.csvexport import BOM, safe_cell
from metamodel.records.hooks import Actor
from metamodel.systables import audit_log, users
from tests.metamodel.audit.auditsupport import entries
from tests.metamodel.mmsupport import T0, Site, entity

ITEM = entity("item", [{"name": "name", "type": "text"}])


def test_publish_and_rollback_are_logged_with_version_comment_and_changes(site: Site) -> None:
    with site.engine.begin() as conn:
        conn.execute(
            users.insert().values(
                username="tester",
                password_hash="x",
                display_name="T",
                locale="en",
                is_admin=True,
                is_active=True,
                created_at=T0,
            )
        )
    site.svc.on_publish.append(lambda event: record_publish(event, "cli"))
    site.publish([ITEM], "first")
    site.publish(
        [entity("item", [{"name": "name", "type": "text"}, {"name": "size", "type": "integer"}])], "add size"
    )
    site.rollback(1)
    first, second, back = entries(site.engine)
    assert (first["action"], first["actor_name"], first["origin"]) == ("meta.publish", "tester", "cli")
    assert first["actor_id"] is not None and first["changes"]["version"] == [None, 1]
    assert first["summary"].startswith("published version 1") and first["summary"].endswith(": first")
    assert second["changes"]["version"] == [1, 2] and second["changes"]["comment"] == "add size"
    assert any("size" in line and "field_added" in line for line in second["changes"]["metadata"])
    assert back["action"] == "meta.rollback" and back["changes"]["version"] == [2, 3]
    assert (
        back["changes"]["source_version"] == 1 and "rolled back to version 1 as version 3" in back["summary"]
    )
    assert any("field_removed" in line for line in back["changes"]["metadata"])


def test_a_refused_publish_leaves_no_entry(site: Site) -> None:
    site.svc.on_publish.append(lambda event: record_publish(event))
    site.publish([ITEM])

    def crash(event: object) -> None:
        raise RuntimeError("listener failed")

    site.svc.on_publish.append(crash)
    with pytest.raises(RuntimeError):
        site.publish([ITEM, entity("other", [{"name": "x", "type": "text"}])])
    assert len(entries(site.engine)) == 1 and site.svc.active_version() == 1


def test_the_database_refuses_updates_and_deletes_of_entries(site: Site) -> None:
    with site.engine.begin() as conn:
        record_access_change(
            conn,
            Actor(1, "root", True, T0, "cli"),
            "granted sales to bob",
            {"role": "sales", "password": "pw-Secret-1"},
        )
    [entry] = entries(site.engine)
    assert (
        entry["changes"] == {"role": "sales", "password": "[redacted]"} and entry["action"] == "access.change"
    )
    for statement in (
        sa.update(audit_log).values(summary="nothing happened"),
        sa.delete(audit_log),
        sa.text("UPDATE sys_audit SET actor_name = 'someone else'"),
        sa.text("DELETE FROM sys_audit WHERE id > 0"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), site.engine.begin() as conn:
            conn.execute(statement)
    assert entries(site.engine) == [entry]


@pytest.mark.postgres
def test_postgres_also_refuses_truncate(site: Site) -> None:
    with pytest.raises(DBAPIError, match="append-only"), site.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE sys_audit"))


def test_browse_filters_and_pages_newest_first(site: Site) -> None:
    with site.engine.begin() as conn:
        for number in range(5):
            who = Actor(number % 2 + 1, f"user{number % 2 + 1}", False, T0.replace(minute=number), "10.0.0.1")
            record_access_change(conn, who, f"change {number}")
    with site.engine.connect() as conn:
        page, cursor = browse(conn, AuditQuery(limit=2))
        assert [e["summary"] for e in page] == ["change 4", "change 3"] and cursor is not None
        rest, end = browse(conn, AuditQuery(limit=10, before_id=cursor))
        assert [e["summary"] for e in rest] == ["change 2", "change 1", "change 0"] and end is None
        mine, _ = browse(conn, AuditQuery(actor="user2"))
        assert [e["summary"] for e in mine] == ["change 3", "change 1"]
        by_id, _ = browse(conn, AuditQuery(actor="1", action="access"))
        assert [e["summary"] for e in by_id] == ["change 4", "change 2", "change 0"]
        timed, _ = browse(conn, AuditQuery(since=T0.replace(minute=1), until=T0.replace(minute=3)))
        assert [e["summary"] for e in timed] == ["change 2", "change 1"]
        assert browse(conn, AuditQuery(action="record.update"))[0] == []


def test_csv_cells_cannot_become_formulas() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+cmd", "-2", "@SUM(A1)", "plain", None, 5)] == [
        "'=1+1",
        "'+cmd",
        "'-2",
        "'@SUM(A1)",
        "plain",
        "",
        "5",
    ]
    lines = list(
        csv_lines([{"id": 1, "summary": '=HYPERLINK("x")', "actor_name": "李雷", "changes": {"a": [1, 2]}}])
    )
    assert lines[0].startswith(BOM + "id,at,")
    assert lines[1] == '1,,,李雷,,,,,"\'=HYPERLINK(""x"")","{""a"": [1, 2]}"\r\n'
