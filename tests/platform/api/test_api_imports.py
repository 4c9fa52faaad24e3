"""Importing files through the API: dry run, background run, crash and resume, undo, permissions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from crm_platform.imports_worker import ImportWorker
from crm_platform.services import CrmServices
from metamodel.imports.jobs import job_row
from metamodel.imports.tables import import_jobs, import_units
from metamodel.systables import audit_log, users
from rule_engine.tables import action_log, rule_errors
from tests.platform.api.apisupport import Api, define_crm, error_of
from tests.platform.api.importsupport import EXPECTED_ERRORS, OPTIONS, gbk_file, seed, upload
from tests.platform.api.test_api_rule_errors import SHAKY


def customers(api: Api) -> list[dict[str, Any]]:
    return list(api.ok("GET", "/records/customer?limit=100")["items"])


def prepared(admin: Api, data: bytes | None = None, **extra: Any) -> tuple[int, dict[str, Any]]:
    """Upload the GBK file and dry-run it; returns the job id and the dry-run report."""
    define_crm(admin)
    seed(admin)
    draft = upload(admin, gbk_file() if data is None else data)
    assert draft.status_code == 201, draft.get_data(as_text=True)
    body = draft.get_json()
    job = body["id"]
    report = admin.ok(
        "POST", f"/records/customer/imports/{job}/dry-run", {"mapping": body["mapping"], **OPTIONS, **extra}
    )
    return job, report


def test_dry_run_reports_every_bad_row_and_writes_nothing(admin: Api) -> None:
    """GBK detected, columns mapped by name, link titles, child lines, duplicates: the exact error report."""
    job, report = prepared(admin)
    assert report["counts"] == {"created": 2, "updated": 0, "skipped": 2, "failed": 3}
    assert report["errors"] == EXPECTED_ERRORS
    assert [c["name"] for c in customers(admin)] == ["Old Person"]  # nothing written
    state = admin.ok("GET", f"/records/customer/imports/{job}")
    assert state["status"] == "draft" and state["encoding"] == "gb18030"


def test_run_writes_good_rows_once_and_reports_the_rest(admin: Api, api_svc: CrmServices) -> None:
    """The run writes the good records with their lines; the error report lists the failed and skipped rows."""
    job, _ = prepared(admin)
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    assert ImportWorker(api_svc).run_pending() == 1
    state = admin.ok("GET", f"/records/customer/imports/{job}")
    assert state["status"] == "done" and state["done"] == state["total"] == 7
    assert state["counts"] == {"created": 2, "updated": 0, "skipped": 2, "failed": 3}
    stored = {c["name"]: c for c in customers(admin)}
    assert sorted(stored) == ["Old Person", "孙七", "张三"]
    zhang = admin.ok("GET", f"/records/customer/{stored['张三']['id']}")
    assert [(line["product"], line["qty"]) for line in zhang["lines"]] == [("苹果", 2), ("香蕉", 3)]
    assert zhang["_titles"]["company"] == "Acme"
    report = admin.get(f"/records/customer/imports/{job}/errors")
    lines = report.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "row,column,status,message"
    assert lines[1:] == [
        "4,age,failed,must be a number",
        "5,company,failed,no company record 'NoSuchCo'",
        "6,lines.qty,failed,must be at least 0",
        "7,email,skipped,duplicate of row 2 in the file (skipped)",
        "8,email,skipped,already stored as customer #1 (skipped)",
    ]


def test_a_crash_halfway_then_resume_writes_every_row_exactly_once(admin: Api, api_svc: CrmServices) -> None:
    """The worker dies inside its second batch; a new worker takes the job over and finishes it."""
    rows = [f"P{i},p{i}@x.com,,{i},Acme,R{i},x,1" for i in range(25)]
    job, report = prepared(admin, gbk_file(rows))
    assert report["counts"]["created"] == 25
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    calls = {"n": 0}

    def crash(event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 14:  # inside the second batch of 10
            raise KeyboardInterrupt("worker killed")

    api_svc.hooks.after_save.append(crash)
    worker = ImportWorker(api_svc, batch=10)
    with pytest.raises(KeyboardInterrupt):
        worker.run_pending()
    api_svc.hooks.after_save.remove(crash)
    with api_svc.engine.begin() as conn:
        state = job_row(conn, job)
        assert state["status"] == "running" and state["done"] == 10  # the first batch only
        # The dead worker's lease runs out.
        conn.execute(sa.update(import_jobs).values(heartbeat_at=state["heartbeat_at"] - dt_minutes(5)))
    assert ImportWorker(api_svc, batch=10).run_pending() == 1
    emails = [c["email"] for c in customers(admin) if c["email"] != "old@x.com"]
    assert sorted(emails) == sorted(f"p{i}@x.com" for i in range(25))
    assert admin.ok("GET", f"/records/customer/imports/{job}")["counts"]["created"] == 25


def dt_minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_undo_restores_created_and_updated_records_and_reports_changed_ones(
    admin: Api, api_svc: CrmServices
) -> None:
    """Upsert by e-mail: undo deletes the created records, restores the updated one, keeps one changed since."""
    rows = [
        "Old Renamed,old@x.com,,61,Globex,R1,x,1",
        "New A,a@x.com,,1,Acme,R2,x,1",
        "New B,b@x.com,,2,Acme,R3,x,1",
    ]
    job, report = prepared(admin, gbk_file(rows), mode="upsert", duplicates="update")
    assert report["counts"] == {"created": 2, "updated": 1, "skipped": 0, "failed": 0}
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    ImportWorker(api_svc).run_pending()
    stored = {c["email"]: c for c in customers(admin)}
    assert stored["old@x.com"]["name"] == "Old Renamed" and stored["old@x.com"]["age"] == 61
    admin.ok("PATCH", f"/records/customer/{stored['b@x.com']['id']}", {"age": 99})  # changed since
    result = admin.ok("POST", f"/records/customer/imports/{job}/undo")
    assert (result["deleted"], result["restored"], result["failed"]) == (1, 1, [])
    assert [c["record_id"] for c in result["changed"]] == [stored["b@x.com"]["id"]]
    after = {c["email"]: c for c in customers(admin)}
    assert sorted(after) == ["b@x.com", "old@x.com"]
    assert after["old@x.com"]["name"] == "Old Person" and after["old@x.com"]["age"] is None


def test_an_import_without_the_import_permission_is_refused(
    admin: Api, user: Api, api_svc: CrmServices
) -> None:
    """A role that may create customers but not import them: the upload is refused (403)."""
    define_crm(admin)
    admin.ok("POST", "/access/roles", {"name": "clerk"}, status=201)
    rules = [{"entity": "customer", "operation": op, "scope": "all"} for op in ("read", "create", "update")]
    admin.ok("PUT", "/access/roles/clerk/permissions", {"permissions": rules})
    with api_svc.engine.connect() as conn:
        alice = conn.execute(sa.select(users.c.id).where(users.c.username == "alice")).scalar_one()
    admin.ok("POST", f"/access/users/{alice}/roles", {"role": "clerk"})
    admin.ok("PUT", "/access/enforcement", {"enforced": True})
    refused = upload(user, gbk_file())
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    assert customers(admin) == []


def test_rows_in_one_batch_fare_exactly_as_if_written_alone(admin: Api, api_svc: CrmServices) -> None:
    """A batch meets a trigger whose condition fails (five failures switch it off) and a row the runtime
    refuses: every good row is written once, the failures are logged once each, and the rule is off
    for the rows after the fifth failure, as when each row is written on its own."""
    admin.define("trigger", "shaky", SHAKY)
    ages = [41, 40, 40, 40, 40, 40, 41, 41]
    rows = [f"P{i},p{i}@x.com,,{age},Acme,R{i},x,1" for i, age in enumerate(ages)]
    rows.insert(3, "Bad,bad@x.com,,41,Acme,RB,x,-1")  # refused by the runtime (line quantity)
    job, report = prepared(admin, gbk_file(rows))
    assert report["counts"] == {"created": 8, "updated": 0, "skipped": 0, "failed": 1}
    with api_svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rule_errors)).scalar_one() == 0
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    assert ImportWorker(api_svc).run_pending() == 1
    stored = {c["email"]: c for c in customers(admin) if c["email"] != "old@x.com"}
    assert sorted(stored) == sorted(f"p{i}@x.com" for i in range(8))
    notes = [stored[f"p{i}@x.com"]["notes"] for i in range(8)]
    assert notes == ["checked", None, None, None, None, None, None, None]  # off after 5 failures
    with api_svc.engine.connect() as conn:
        failed = conn.execute(sa.select(rule_errors.c.record_id).order_by(rule_errors.c.record_id)).scalars()
        assert list(failed) == sorted(stored[f"p{i}@x.com"]["id"] for i in (1, 2, 3, 4, 5))
        fired = conn.execute(
            sa.select(sa.func.count()).select_from(action_log).where(action_log.c.status == "ok")
        ).scalar_one()
    assert fired == 1
    assert admin.ok("GET", f"/records/customer/imports/{job}")["counts"]["failed"] == 1


BIG = {
    "name": "big",
    "entity": "customer",
    "event": "create",
    "condition": "age >= 50",
    "actions": [{"type": "set_fields", "values": {"notes": "big"}}],
}


def test_a_batch_logs_each_write_once_in_the_order_written(admin: Api, api_svc: CrmServices) -> None:
    """The audit and action-log rows a batch inserts together at its end: one per write, in the order
    each record written alone logs them (its trigger's update, logged inside the create's after-save
    hooks, first), none for the refused row; the ledger keeps each lock_version after the trigger."""
    admin.define("trigger", "big", BIG)
    ages = [50, 20, 60, 30]
    rows = [f"P{i},p{i}@x.com,,{age},Acme,R{i},x,1" for i, age in enumerate(ages)]
    rows.insert(2, "Bad,bad@x.com,,55,Acme,RB,x,-1")  # refused: its create, update and firing vanish
    job, _ = prepared(admin, gbk_file(rows))
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    assert ImportWorker(api_svc).run_pending() == 1
    stored = {c["email"]: c for c in customers(admin) if c["email"] != "old@x.com"}
    ids = [stored[f"p{i}@x.com"]["id"] for i in range(4)]
    with api_svc.engine.connect() as conn:
        logged = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.record_id)
            .where(audit_log.c.entity == "customer", audit_log.c.record_id.in_(ids))
            .order_by(audit_log.c.id)
        ).all()
        fired = conn.execute(sa.select(action_log.c.record_id).order_by(action_log.c.id)).scalars().all()
        versions = dict(
            conn.execute(
                sa.select(import_units.c.record_id, import_units.c.version).where(
                    import_units.c.job_id == job, import_units.c.status == "created"
                )
            ).all()
        )
    create, update = "record.create", "record.update"
    assert [tuple(r) for r in logged] == [
        (update, ids[0]),
        (create, ids[0]),
        (create, ids[1]),
        (update, ids[2]),
        (create, ids[2]),
        (create, ids[3]),
    ]
    assert fired == [ids[0], ids[2]]
    assert versions == {ids[0]: 2, ids[1]: 1, ids[2]: 2, ids[3]: 1}


def test_the_dry_run_report_speaks_the_readers_language(admin: Api) -> None:
    define_crm(admin)
    seed(admin)
    body = upload(admin, gbk_file()).get_json()
    report = admin.ok(
        "POST",
        f"/records/customer/imports/{body['id']}/dry-run?lang=zh-CN",
        {"mapping": body["mapping"], **OPTIONS},
    )
    assert [(e["row"], e["column"], e["message"]) for e in report["errors"]] == [
        (4, "age", "必须是数字"),
        (5, "company", "找不到 company 记录“NoSuchCo”"),
        (6, "lines.qty", "不能小于 0"),
        (7, "email", "与文件第 2 行重复（已跳过）"),
        (8, "email", "已存在为 customer #1（已跳过）"),
    ]
