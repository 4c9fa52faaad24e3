"""The dry run of a large file in the background: queued, run by the import worker with progress, its report stored."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from crm_platform.imports_worker import ImportWorker
from crm_platform.services import CrmServices
from metamodel.database import write_transaction
from metamodel.imports import checks, runner
from metamodel.imports.checks import claim_check, run_check
from metamodel.imports.tables import import_jobs
from tests.platform.api.apisupport import Api, define_crm
from tests.platform.api.importsupport import EXPECTED_ERRORS, OPTIONS, gbk_file, seed, upload


@pytest.fixture(autouse=True)
def small_inline_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test file has 7 records: more than 3 are checked in the background, 2 per batch."""
    monkeypatch.setattr(checks, "INLINE_UNITS", 3)
    monkeypatch.setattr(runner, "BATCH", 2)


def queued_check(admin: Api) -> tuple[int, dict[str, Any], Any]:
    """Upload the GBK file and ask for its dry run; returns the job id, the options and the answer."""
    define_crm(admin)
    seed(admin)
    body = upload(admin, gbk_file()).get_json()
    options = {"mapping": body["mapping"], **OPTIONS}
    answer = admin.call("POST", f"/records/customer/imports/{body['id']}/dry-run", options)
    return body["id"], options, answer


def names(admin: Api) -> list[str]:
    return [c["name"] for c in admin.ok("GET", "/records/customer?limit=100")["items"]]


def test_a_large_dry_run_runs_in_the_worker_with_progress_and_the_inline_report(
    admin: Api, api_svc: CrmServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """202 and "checking"; the worker checks it batch by batch (the page sees rows checked and rows/s),
    then the job is "checked" with exactly the report the inline dry run gives; nothing is written."""
    job, _, answer = queued_check(admin)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "checking" and answer.get_json()["total"] == 7
    seen: list[dict[str, Any]] = []
    told = ImportWorker._progress

    def watched(worker: ImportWorker, job_id: int) -> Any:
        inner = told(worker, job_id)

        def tell(done: int) -> None:
            inner(done)
            seen.append(admin.ok("GET", f"/records/customer/imports/{job_id}"))  # as the page polls

        return tell

    monkeypatch.setattr(ImportWorker, "_progress", watched)
    assert ImportWorker(api_svc).run_pending() == 1
    assert [s["status"] for s in seen] == ["checking"] * len(seen)
    assert [s["done"] for s in seen] == [3, 5, 7]  # the duplicate skipped when planned, then 2 a batch
    assert all(s["rows_per_second"] for s in seen)
    state = admin.ok("GET", f"/records/customer/imports/{job}")
    assert state["status"] == "checked" and state["done"] == 7
    assert state["report"]["counts"] == {"created": 2, "updated": 0, "skipped": 2, "failed": 3}
    assert state["report"]["errors"] == EXPECTED_ERRORS
    assert names(admin) == ["Old Person"]  # the dry run wrote nothing
    admin.ok("POST", f"/records/customer/imports/{job}/start", status=202)
    assert ImportWorker(api_svc).run_pending() == 1
    done = admin.ok("GET", f"/records/customer/imports/{job}")
    assert done["status"] == "done" and done["counts"] == state["report"]["counts"]


def test_a_small_dry_run_still_answers_inline(admin: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """At or under the limit the report is the answer, as before."""
    monkeypatch.setattr(checks, "INLINE_UNITS", 7)
    _, _, answer = queued_check(admin)
    assert answer.status_code == 200 and answer.get_json()["errors"] == EXPECTED_ERRORS


def test_a_check_of_an_older_plan_drops_its_outcome(admin: Api, api_svc: CrmServices) -> None:
    """Re-planned while a worker checked the old plan: the old outcome is not stored, the new plan is checked."""
    job, options, _ = queued_check(admin)
    with write_transaction(api_svc.engine) as conn:
        assert claim_check(conn, "old-worker", api_svc.clock()) == job
    # A running check refuses a new plan (409) until its worker is silent past the lease.
    assert admin.call("POST", f"/records/customer/imports/{job}/dry-run", options).status_code == 409
    with write_transaction(api_svc.engine) as conn:
        stale = api_svc.clock() - checks.CHECK_LEASE - checks.CHECK_LEASE
        conn.execute(sa.update(import_jobs).where(import_jobs.c.id == job).values(heartbeat_at=stale))
    replanned = admin.call("POST", f"/records/customer/imports/{job}/dry-run", {**options, "mode": "upsert"})
    assert replanned.status_code == 202
    assert run_check(api_svc.runtime, job, "old-worker") is False  # its claim went with the old plan
    assert admin.ok("GET", f"/records/customer/imports/{job}")["status"] == "checking"
    assert admin.call("POST", f"/records/customer/imports/{job}/start").status_code == 409  # not checked yet
    assert ImportWorker(api_svc).run_pending() == 1
    state = admin.ok("GET", f"/records/customer/imports/{job}")
    assert state["status"] == "checked" and state["options"]["mode"] == "upsert"
    assert state["report"]["counts"]["created"] == 2


def test_a_dry_run_that_breaks_goes_back_to_the_mapping_at_once(
    admin: Api, api_svc: CrmServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that raises is ended (draft, with a message the page shows), not left to its lease."""
    job, options, _ = queued_check(admin)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(checks, "check_units", broken)
    assert ImportWorker(api_svc).run_pending() == 1
    state = admin.ok("GET", f"/records/customer/imports/{job}")
    assert state["status"] == "draft" and state["message"] == "the dry run failed; see the server log"
    monkeypatch.undo()
    monkeypatch.setattr(checks, "INLINE_UNITS", 3)
    admin.ok("POST", f"/records/customer/imports/{job}/dry-run", options, status=202)  # planned again at once
    assert ImportWorker(api_svc).run_pending() == 1
    assert admin.ok("GET", f"/records/customer/imports/{job}")["status"] == "checked"
