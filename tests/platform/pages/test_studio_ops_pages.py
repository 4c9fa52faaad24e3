"""The studio's operations pages: admins only, the audit filters, CSRF on retry now, translated errors."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from rule_engine.tables import outbox
from tests.platform.api.test_api_ops import failed_webhook
from tests.platform.pages.conftest import admin_client, csrf_of

PAGES = ("/studio/ops/audit", "/studio/ops/deliveries", "/studio/ops/scheduler", "/studio/ops/rule-errors")


def test_non_admins_get_403(client: FlaskClient, svc: CrmServices) -> None:
    message_id = failed_webhook(svc.engine)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/").text)
    assert (
        client.post(f"/studio/ops/deliveries/{message_id}/retry", data={"csrf_token": token}).status_code
        == 403
    )
    with svc.engine.connect() as conn:
        assert conn.execute(outbox.select()).first().status == "failed"


def test_audit_filters_retry_and_scheduler(site_app: Flask, svc: CrmServices) -> None:
    boss = admin_client(site_app, svc)
    svc.runtime().create("customer", {"name": "<i>Acme</i>"})
    page = boss.get("/studio/ops/audit?lang=en&entity=customer")
    assert page.status_code == 200 and "record.create" in page.text
    assert "&lt;i&gt;Acme" in page.text or "created customer" in page.text
    assert "/api/v1/audit/export?entity=customer" in page.text
    none = boss.get("/studio/ops/audit?lang=en&actor=nobody")
    assert "No entry matches these filters" in none.text
    bad = boss.get("/studio/ops/audit?lang=zh-CN&since=yesterday")
    assert bad.status_code == 422 and "筛选条件无效" in bad.text
    message_id = failed_webhook(svc.engine, "https://x.example.com/<script>")
    listed = boss.get("/studio/ops/deliveries?lang=en&status=failed")
    assert "HTTP 503" in listed.text and "x.example.com/&lt;script&gt;" in listed.text
    assert "x.example.com/<script>" not in listed.text
    token = csrf_of(listed.text)
    assert boss.post(f"/studio/ops/deliveries/{message_id}/retry").status_code == 400  # no CSRF token
    done = boss.post(f"/studio/ops/deliveries/{message_id}/retry", data={"csrf_token": token})
    assert done.status_code == 302 and done.location.endswith(f"id={message_id}")
    with svc.engine.connect() as conn:
        assert conn.execute(outbox.select()).first().status == "pending"
    assert boss.get("/studio/ops/deliveries?status=lost").status_code == 422
    scheduler = boss.get("/studio/ops/scheduler?lang=en")
    assert scheduler.status_code == 200 and "No time rules are published" in scheduler.text


def test_rule_errors_page_lists_failures_and_switches_a_rule_on(site_app: Flask, svc: CrmServices) -> None:
    """Failures show with rule, record and count; the switched-off rule is switched on with CSRF; zh-CN too."""
    from rule_engine.errorlog import note_failure
    from rule_engine.tables import rule_health

    boss = admin_client(site_app, svc)
    empty = boss.get("/studio/ops/rule-errors?lang=en")
    assert empty.status_code == 200 and "No rule has failed." in empty.text
    now = svc.rules.clock()
    acme = svc.runtime().create("customer", {"name": "Acme <Trading>"})["id"]
    with svc.engine.begin() as conn:
        for record_id in range(acme, acme + 5):
            note_failure(
                conn,
                "shaky",
                "customer",
                record_id,
                "condition",
                "condition failed: <b>division</b> by zero",
                now,
            )
    page = boss.get("/studio/ops/rule-errors?lang=en")
    assert "Rules switched off" in page.text and "after 5 failures in a row" in page.text
    assert "&lt;b&gt;division" in page.text and "<b>division" not in page.text
    assert page.text.count('data-rule-error="shaky:') == 5
    # The record is named by its title (escaped), its entity and id beneath; a record gone reads as its id.
    assert f'/e/customer/{acme}">Acme &lt;Trading&gt;</a>' in page.text
    assert f"customer #{acme}" in page.text and f'/e/customer/{acme + 1}">#{acme + 1}</a>' in page.text
    zh = boss.get("/studio/ops/rule-errors?lang=zh-CN")
    assert "已停用的规则" in zh.text and "重新启用" in zh.text
    assert boss.post("/studio/ops/rule-errors/shaky/enable").status_code == 400  # no CSRF token
    done = boss.post("/studio/ops/rule-errors/shaky/enable", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 302
    with svc.engine.connect() as conn:
        assert conn.execute(rule_health.select()).first().disabled_at is None
    again = boss.get("/studio/ops/rule-errors?lang=en")
    assert "Rules switched off" not in again.text and 'data-rule-error="shaky:' in again.text
    assert boss.get("/studio/ops/rule-errors?limit=0").status_code == 422
