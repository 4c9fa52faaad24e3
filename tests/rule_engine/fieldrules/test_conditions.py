"""Conditional required/visible/read-only fields, validation rules and multi-field uniqueness on the server."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.errors import RecordInvalid
from metamodel.records.hooks import Actor
from rule_engine.fieldrules import messages_in
from rule_engine.testing.world import make_world
from tests.rule_engine.fieldrules.fieldrule_tickets import BUDGET_MESSAGE, STEPS_MESSAGE, tickets

USER = Actor(user_id=7, username="clerk")


def refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, tuple[str, str]]:
    with pytest.raises(RecordInvalid) as caught:
        call(*args, **kwargs)
    return {p.path: (p.message, p.code) for p in caught.value.problems}


def test_required_if_only_while_visible(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    assert refused(rt.create, "ticket", {"title": "t", "kind": "bug"}, USER) == {
        "severity": ("is required", "required")
    }
    rt.create("ticket", {"title": "q", "kind": "question"}, USER)
    # a hidden field is not required, and a value sent for it is dropped (issue 15 item 3)
    kept = rt.create("ticket", {"title": "q2", "kind": "question", "severity": "low"}, USER)
    assert kept["severity"] is None
    ticket = rt.create("ticket", {"title": "b", "kind": "bug", "severity": "high"}, USER)
    # clearing a required-if field on update, or making it required by another change
    assert "severity" in refused(rt.update, "ticket", ticket["id"], {"severity": None}, USER)
    assert "severity" in refused(rt.update, "ticket", kept["id"], {"kind": "bug", "severity": None}, USER)


def test_field_validation_skips_hidden_and_empty_values(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    problems = refused(
        rt.create, "ticket", {"title": "b", "kind": "bug", "severity": "low", "steps": "short"}, USER
    )
    assert problems == {"steps": (STEPS_MESSAGE["en"], "validation")}
    rt.create("ticket", {"title": "b", "kind": "bug", "severity": "low"}, USER)  # empty: not judged
    rt.create("ticket", {"title": "q", "kind": "question", "steps": "short"}, USER)  # hidden: not judged
    with messages_in("zh-CN"):
        problems = refused(
            rt.create, "ticket", {"title": "b", "kind": "bug", "severity": "low", "steps": "x"}, USER
        )
    assert problems["steps"][0] == STEPS_MESSAGE["zh-CN"]


def test_record_validations_on_record_and_field_paths(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    problems = refused(
        rt.create, "ticket", {"title": "t", "estimate": 9, "budget": 5, "due": "2026-01-01"}, USER
    )
    assert problems == {
        "": (BUDGET_MESSAGE["en"], "validation"),
        "due": ("Due before it was opened", "validation"),
    }
    ticket = rt.create("ticket", {"title": "t", "estimate": 5, "budget": 5}, USER)
    with messages_in("zh-CN"):
        assert refused(rt.update, "ticket", ticket["id"], {"budget": 4}, USER) == {
            "": (BUDGET_MESSAGE["zh-CN"], "validation")
        }


def test_readonly_if_refuses_user_changes_of_a_closed_ticket(db_url: str) -> None:
    world = make_world(db_url, tickets())
    rt = world.runtime()
    ticket = rt.create("ticket", {"title": "t"}, USER)
    assert refused(rt.update, "ticket", ticket["id"], {"status": "closed"}, USER) == {
        "resolution": ("is required", "required")
    }
    # closing sets the resolution in the same save
    ticket = rt.update("ticket", ticket["id"], {"status": "closed", "resolution": "fixed"}, USER)
    assert refused(rt.update, "ticket", ticket["id"], {"resolution": "other"}, USER) == {
        "resolution": ("is read-only", "readonly")
    }
    # sending it back unchanged is fine, and so is a system write (a trigger's)
    rt.update("ticket", ticket["id"], {"resolution": "fixed", "title": "t2"}, USER)
    assert rt.update("ticket", ticket["id"], {"resolution": "by rule"})["resolution"] == "by rule"
    # reopening is a change of its own, then the field can be edited
    assert "resolution" in refused(
        rt.update, "ticket", ticket["id"], {"status": "open", "resolution": "x"}, USER
    )
    rt.update("ticket", ticket["id"], {"status": "open"}, USER)
    assert rt.update("ticket", ticket["id"], {"resolution": "x"}, USER)["resolution"] == "x"


def test_defaults_apply_to_absent_values_of_new_records(db_url: str) -> None:
    world = make_world(db_url, tickets())
    rt = world.runtime()
    ticket = rt.create("ticket", {"title": "t"}, USER)
    assert (ticket["opened"], ticket["due"], ticket["status"]) == ("2026-03-02", "2026-03-09", "open")
    given = rt.create("ticket", {"title": "t", "opened": "2026-02-01"}, USER)
    assert (given["opened"], given["due"]) == ("2026-02-01", "2026-02-08")  # defaults read given values
    cleared = rt.update("ticket", given["id"], {"due": None}, USER)
    assert cleared["due"] is None  # defaults are for new records only


def test_formula_is_computed_kept_current_and_not_entered(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    ticket = rt.create("ticket", {"title": "crash", "label": "mine"}, USER)
    assert ticket["label"] == "NEW: crash"  # the value sent for a formula field is ignored
    ticket = rt.update("ticket", ticket["id"], {"kind": "question"}, USER)
    assert ticket["label"] == "QUESTION: crash"
    ticket = rt.update("ticket", ticket["id"], {"title": "boom", "label": "x"}, USER)
    assert ticket["label"] == "QUESTION: boom"


def test_multi_field_uniqueness_is_a_problem_naming_the_fields(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    rt.create("ticket", {"title": "a", "project": "crm", "code": "T-1"}, USER)
    message, code = refused(rt.create, "ticket", {"title": "b", "project": "crm", "code": "T-1"}, USER)[""]
    assert code == "unique" and "project, code" in message and "ticket 1" in message
    other = rt.create("ticket", {"title": "b", "project": "erp", "code": "T-1"}, USER)
    assert "" in refused(rt.update, "ticket", other["id"], {"project": "crm"}, USER)
    # empty values never clash
    rt.create("ticket", {"title": "c", "project": "crm"}, USER)
    rt.create("ticket", {"title": "d", "project": "crm"}, USER)
