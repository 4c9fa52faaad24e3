"""The rule builder in chromium: a validation and a time trigger ("48 hours in state open -> set priority
and notify") built from forms with the expression editor's completion and the engine's check, tested on
live data, saved into the draft and published; both widths, both languages, axe-core."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from crm_platform.auth.users import create_user
from crm_platform.services import CrmServices
from tests.platform.pages.browsersupport import (
    Watch,
    audit,
    module_app,
    sign_in,
    tour,
    watched_page,
)
from tests.platform.pages.conftest import ENTITIES
from tests.platform.pages.test_studio_rules import FLOW, TICKET
from tests.platform.pages.test_studio_workflow import DEAL

pytestmark = pytest.mark.browser
PASSWORD = "rules-amber-kettle-42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, CrmServices]]:
    """Tickets with a workflow and deals without one published, two open tickets, the clock 49 hours on, an administrator."""
    with module_app(tmp_path_factory.mktemp("rules")) as app:
        svc: CrmServices = app.extensions["crm"]
        for name, doc in {**ENTITIES, "ticket": TICKET, "deal": DEAL}.items():
            svc.metadata.put_document("entity", name, copy.deepcopy(doc), "test")
        svc.metadata.put_document("workflow", "ticket_flow", FLOW, "test")
        svc.metadata.publish("test", "tickets")
        runtime = svc.runtime()
        runtime.create("ticket", {"subject": "Printer <jammed>", "status": "open", "hours": -2})
        runtime.create("ticket", {"subject": "VPN down", "status": "open", "hours": 4})
        real = svc.rules.clock
        svc.rules.clock = lambda: real() + dt.timedelta(hours=49)
        create_user(svc.engine, "boss", PASSWORD, display_name="Zhang Wei", is_admin=True)
        yield app, svc


@pytest.fixture
def admin(browser: Browser, base_url: str) -> Iterator[tuple[Page, Watch]]:
    """A page signed in as the administrator."""
    with watched_page(browser, base_url) as found:
        sign_in(found[0], "boss", PASSWORD)
        yield found


def test_validation_with_completion_check_and_live_test(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    tour(page, "/studio/entities/ticket/rules", "studio-rules")
    page.goto("/studio/entities/ticket/rules?lang=en")
    page.click(".crm-new-validation")
    page.wait_for_load_state()
    condition = page.locator("#v-condition")
    condition.press_sequentially("hou")
    option = page.locator(".crm-expr-list [role=option]").first
    expect(option).to_contain_text("hours")
    condition.press("ArrowDown")
    condition.press("Enter")
    expect(condition).to_have_value("hours")
    condition.press_sequentially(" >= 0 and nope")
    expect(page.locator("#v-condition-msg")).to_contain_text("nope")
    expect(page.locator("#v-condition-msg mark")).to_have_count(1)
    audit(page, "studio-rules-validation-error-en-1366")
    condition.fill("hours >= 0")
    expect(condition).to_have_class(re.compile(r"is-valid"))
    page.fill("#v-message-en", "Hours cannot be negative")
    page.fill("#v-message-zh", "工时不能为负数")
    page.click(".crm-test-rule")
    expect(page.locator(".crm-dryrun-count")).to_contain_text("1")
    expect(page.locator(".crm-dryrun-list a")).to_have_text("Printer <jammed>")
    audit(page, "studio-rules-validation-tested-en-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    audit(page, "studio-rules-validation-tested-en-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click(".crm-save-rule")
    page.wait_for_url("**/studio/entities/ticket/rules")
    expect(page.locator(".crm-toast")).to_contain_text("Rule saved to the draft.")
    expect(page.locator(".crm-rules-validations")).to_contain_text("Hours cannot be negative")
    rules = site[1].metadata.draft().documents["entity"]["ticket"]["rules"]
    assert rules["validations"][0]["condition"] == "hours >= 0"


def test_time_trigger_in_state_tested_and_published(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    page.goto("/studio/entities/ticket/rules?lang=zh-CN")
    page.click(".crm-new-time-trigger")
    page.wait_for_load_state()
    tour(page, page.url.split("?")[0] + "?event=time&state=open", "studio-rules-time-trigger")
    page.goto("/studio/entities/ticket/rules/triggers?event=time&state=open&lang=en")
    expect(page.locator("#t-transition")).to_be_hidden()  # only the chosen event's settings show
    expect(page.locator("#t-state")).to_be_visible()
    page.fill("#t-label-en", "Escalate open tickets")
    expect(page.locator("#t-name")).to_have_value("escalate_open_tickets")
    page.fill("#t-in-state-hours", "48")
    page.fill("#t-condition", 'priority != "urgent"')
    page.select_option("#a0-type", "set_fields")
    expect(page.locator("#a0-v0-field")).to_be_visible()
    expect(page.locator("#a0-subject")).to_be_hidden()
    page.select_option("#a0-v0-field", "priority")
    page.fill("#a0-v0-value", "urgent")
    page.select_option("#a1-type", "notify")
    page.fill("#a1-subject", "Ticket escalated: {{ title }}")
    page.click(".crm-test-rule")
    expect(page.locator(".crm-dryrun-count")).to_contain_text("2")
    expect(page.locator(".crm-dryrun-list li")).to_have_count(2)
    audit(page, "studio-rules-time-trigger-tested-en-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    audit(page, "studio-rules-time-trigger-tested-en-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click(".crm-save-rule")
    page.wait_for_url("**/studio/entities/ticket/rules")
    expect(page.locator(".crm-rules-triggers")).to_contain_text("48 h in state open")
    doc = svc.metadata.draft().documents["trigger"]["escalate_open_tickets"]
    assert doc["schedule"] == {"state": "open", "in_state_hours": 48}
    assert [a["type"] for a in doc["actions"]] == ["set_fields", "notify"]
    page.goto("/studio/review?lang=en")
    page.click(".crm-publish-now")
    page.wait_for_url("**/studio/history*")
    assert (
        "escalate_open_tickets"
        in svc.metadata.bundle_of(svc.metadata.active_version() or 0).documents["trigger"]
    )


def _add_state(page: Page, label: str, colour: str, *, final: bool = False) -> None:
    page.click(".crm-wf-add-state")
    page.wait_for_load_state()  # studio.js derives the stored name from the label once it has run
    page.fill("#s-label-en", label)
    page.select_option("#s-colour", colour)
    if final:
        page.check("input[name=final]")
    page.click(".crm-save-state")
    page.wait_for_url("**/studio/entities/deal/workflow")


def test_workflow_with_three_states_and_a_guarded_transition(
    admin: tuple[Page, Watch], site: tuple[Flask, CrmServices]
) -> None:
    page, _ = admin
    svc = site[1]
    page.goto("/studio/entities/deal?lang=en")
    page.click(".crm-open-workflow")
    page.click(".crm-wf-start")
    expect(page.locator(".crm-toast")).to_contain_text("Workflow started in the draft.")
    _add_state(page, "Won", "green", final=True)
    _add_state(page, "Lost", "red", final=True)
    page.click(".crm-wf-add-transition")
    page.wait_for_load_state()
    page.fill("#x-label-en", "Win")
    page.check("input[name=from][value=new]")
    page.select_option("#x-to", "won")
    guard = page.locator("#x-guard")
    guard.press_sequentially("amou")
    expect(page.locator(".crm-expr-list [role=option]").first).to_contain_text("amount")
    guard.press("Enter")  # nothing chosen yet: Enter closes the list and submits nothing
    expect(page.locator(".crm-expr-list")).to_be_hidden()
    guard.press("Backspace")
    expect(page.locator(".crm-expr-list [role=option]").first).to_contain_text("amount")
    guard.press("ArrowDown")
    guard.press("Enter")
    guard.press_sequentially(" > 0")
    expect(guard).to_have_class(re.compile(r"is-valid"))
    page.check("input[name=required_fields][value=reason]")
    audit(page, "studio-workflow-transition-en-1366")
    page.click(".crm-save-transition")
    page.wait_for_url("**/studio/entities/deal/workflow")
    expect(page.locator(".crm-wf-diagram .crm-wf-state")).to_have_count(3)
    expect(page.locator(".crm-wf-diagram .crm-wf-edge")).to_have_count(1)
    tour(page, "/studio/entities/deal/workflow", "studio-workflow")
    flow = svc.metadata.draft().documents["workflow"]["deal_flow"]
    assert [s["name"] for s in flow["states"]] == ["new", "won", "lost"]
    assert flow["transitions"][0]["guard"] == "amount > 0"
    page.goto("/studio/review?lang=en")
    page.click(".crm-publish-now")
    page.wait_for_url("**/studio/history*")
    assert "deal_flow" in svc.metadata.bundle_of(svc.metadata.active_version() or 0).documents["workflow"]
