"""Issue 15 item 3: a value sent for a field its ``visible_if`` hides is dropped, never stored."""

from __future__ import annotations

from metamodel.records.hooks import Actor
from rule_engine.testing.world import make_world
from tests.rule_engine.fieldrules.fieldrule_tickets import tickets

USER = Actor(user_id=7, username="clerk")


def test_hidden_values_are_dropped_on_create_and_update(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    # observed: a question ticket stored severity 'high' and steps sent behind the form's back
    question = rt.create(
        "ticket", {"title": "q", "kind": "question", "severity": "high", "steps": "do this and that"}, USER
    )
    assert (question["severity"], question["steps"]) == (None, None)
    bug = rt.create("ticket", {"title": "b", "kind": "bug", "severity": "high"}, USER)
    assert bug["severity"] == "high"
    # the field becomes hidden by the same update: the sent value is dropped, the stored one kept
    changed = rt.update("ticket", bug["id"], {"kind": "question", "severity": "low"}, USER)
    assert (changed["kind"], changed["severity"]) == ("question", "high")
    # hidden on the stored record: a clearing or changing value is dropped too
    assert rt.update("ticket", bug["id"], {"severity": None}, USER)["severity"] == "high"
    # visible again: values are taken
    again = rt.update("ticket", bug["id"], {"kind": "bug", "severity": "low"}, USER)
    assert again["severity"] == "low"


def test_the_system_may_fill_hidden_fields(db_url: str) -> None:
    rt = make_world(db_url, tickets()).runtime()
    made = rt.create("ticket", {"title": "q", "kind": "question", "severity": "low"})
    assert made["severity"] == "low"
