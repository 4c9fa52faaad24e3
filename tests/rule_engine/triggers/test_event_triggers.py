"""Event triggers fire inside the write's transaction; failures are logged, retried when safe, never loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from metamodel.errors import RecordInvalid
from rule_engine.actions.base import Action, ActionContext, ActionFailed
from rule_engine.evaluation import Expressions
from rule_engine.tables import action_log, firings, inbox
from rule_engine.testing.world import add_user, entity, make_world, select_field


class Explode(Action):
    """Fails every time it runs; its retry flag comes from the settings."""

    type = "explode"
    schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"retry": {"type": "boolean"}}}
    calls = 0

    def run(self, config: Mapping[str, Any], ctx: ActionContext) -> str:
        Explode.calls += 1
        raise ActionFailed("the flux capacitor is empty", retry=bool(config.get("retry")))


def bundle(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity": {
            "deal": entity(
                "deal",
                [
                    {"name": "title", "type": "text", "required": True},
                    {"name": "amount", "type": "integer"},
                    {"name": "note", "type": "text"},
                    {"name": "touches", "type": "integer"},
                    select_field("stage", ["open", "won", "lost"]),
                ],
                title_field="title",
            ),
            "task": entity(
                "task",
                [
                    {"name": "title", "type": "text", "required": True},
                    {"name": "deal", "type": "link", "target": "deal", "on_delete": "set_null"},
                ],
                title_field="title",
            ),
        },
        "trigger": {t["name"]: t for t in triggers},
    }


def task_for(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "create_record",
        "entity": "task",
        "link_field": "deal",
        "values": {"title": name},
        **extra,
    }


def test_create_trigger_fires_only_when_its_condition_holds(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "big",
                "entity": "deal",
                "event": "create",
                "condition": "amount >= 1000",
                "actions": [task_for("Call the big customer")],
            }
        ),
    )
    runtime = world.runtime()
    runtime.create("deal", {"title": "small", "amount": 10})
    big = runtime.create("deal", {"title": "big", "amount": 5000})
    tasks = world.rows(world.metadata.model().entity("task").table)
    assert [(t["title"], t["deal"]) for t in tasks] == [("Call the big customer", big["id"])]
    assert [(f["record_id"], f["due_key"], f["status"]) for f in world.ledger("big")] == [
        (big["id"], "create", "done")
    ]
    assert world.rows(action_log)[0]["status"] == "ok"


def test_update_trigger_honours_changed_fields(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "won",
                "entity": "deal",
                "event": "update",
                "changed_fields": ["stage"],
                "condition": "stage == 'won'",
                "actions": [task_for("Send thanks")],
            }
        ),
    )
    runtime = world.runtime()
    deal = runtime.create("deal", {"title": "d", "stage": "open"})
    runtime.update("deal", deal["id"], {"note": "called"})
    runtime.update("deal", deal["id"], {"stage": "won"})
    runtime.update("deal", deal["id"], {"note": "still won, no new task"})
    assert world.count("task") == 1
    assert [f["due_key"] for f in world.ledger("won")] == ["update:3"]


def test_delete_trigger_sees_the_deleted_record(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "gone",
                "entity": "deal",
                "event": "delete",
                "actions": [
                    {
                        "type": "notify",
                        "to": ["user:boss"],
                        "subject": "Deal {{ record.title }} ({{ record.amount }}) was deleted",
                    }
                ],
            }
        ),
    )
    boss = add_user(world.db, "boss")
    runtime = world.runtime()
    deal = runtime.create("deal", {"title": "Acme", "amount": 7})
    runtime.delete("deal", deal["id"])
    assert [(m["user_id"], m["subject"]) for m in world.rows(inbox)] == [(boss, "Deal Acme (7) was deleted")]


def test_actions_share_the_write_transaction(db_url: str) -> None:
    world = make_world(
        db_url, bundle({"name": "big", "entity": "deal", "event": "create", "actions": [task_for("t")]})
    )
    runtime = world.runtime()
    with pytest.raises(RuntimeError), world.db.begin() as conn:
        runtime.create("deal", {"title": "d"}, conn=conn)
        assert world.count("task") == 0  # not visible outside the open transaction on any database
        raise RuntimeError("the request failed later")
    assert world.count("deal") == world.count("task") == world.count(firings) == 0


def test_failing_safe_action_keeps_the_save_and_is_retried_with_backoff(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "flaky",
                "entity": "deal",
                "event": "create",
                "actions": [task_for("first"), {"type": "explode", "retry": True}],
            }
        ),
        actions=[Explode],
    )
    deal = world.runtime().create("deal", {"title": "d"})
    assert world.count("deal") == 1 and world.count("task") == 0  # the firing rolled back as a whole
    [entry] = world.ledger("flaky")
    assert (entry["status"], entry["attempts"]) == ("retry", 1)
    assert "flux capacitor" in entry["detail"]
    failures = world.rows(action_log, action_log.c.status == "failed")
    assert [(f["action"], f["record_id"]) for f in failures] == [("explode", deal["id"])]
    assert world.run_due().outcomes["retry"] == 0  # not due before the backoff has passed
    world.clock.advance(minutes=1)
    report = world.run_due()
    assert report.outcomes["retry"] == 1
    [entry] = world.ledger("flaky")
    assert (entry["status"], entry["attempts"]) == ("retry", 2)
    for minutes in (2, 4, 8):
        world.clock.advance(minutes=minutes)
        world.run_due()
    [entry] = world.ledger("flaky")
    assert (entry["status"], entry["attempts"]) == ("failed", 5)
    assert world.count("task") == 0


def test_retry_succeeds_once_the_cause_is_gone(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "notify_boss",
                "entity": "deal",
                "event": "create",
                "actions": [
                    task_for("follow up"),
                    {"type": "notify", "to": ["user:boss"], "subject": "New deal"},
                ],
            }
        ),
    )
    world.runtime().create("deal", {"title": "d"})
    assert world.ledger()[0]["status"] == "retry"  # boss does not exist yet, notify failed
    add_user(world.db, "boss")
    world.clock.advance(minutes=1)
    assert world.run_due().outcomes["done"] == 1
    assert world.ledger()[0]["status"] == "done"
    assert world.count("task") == 1 and world.count(inbox) == 1


def test_unsafe_failure_is_recorded_as_failed_and_not_retried(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle({"name": "boom", "entity": "deal", "event": "create", "actions": [{"type": "explode"}]}),
        actions=[Explode],
    )
    world.runtime().create("deal", {"title": "d"})
    assert world.ledger()[0]["status"] == "failed"
    Explode.calls = 0
    world.clock.advance(days=1)
    world.run_due()
    assert Explode.calls == 0


def test_validation_errors_of_created_records_are_logged_not_raised(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "bad",
                "entity": "deal",
                "event": "create",
                "actions": [
                    {"type": "create_record", "entity": "task", "values": {"title": {"expr": "note"}}}
                ],
            }
        ),
    )
    world.runtime().create("deal", {"title": "d"})  # note is empty, so the task's required title is missing
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert "title" in failure["message"]


def test_a_rule_loop_stops_at_the_depth_limit_with_a_logged_error(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "again",
                "entity": "deal",
                "event": "update",
                "actions": [{"type": "set_fields", "values": {"touches": {"expr": "touches + 1"}}}],
            }
        ),
    )
    runtime = world.runtime()
    deal = runtime.create("deal", {"title": "d", "touches": 0})
    runtime.update("deal", deal["id"], {"note": "go"})
    stored = runtime.get("deal", deal["id"])
    assert stored["touches"] == 8  # MAX_DEPTH nested firings, then it stopped
    logged = world.rows(action_log, action_log.c.status == "failed")
    assert any("nested more than 8 levels" in row["message"] for row in logged)


def test_disabled_triggers_do_not_fire(db_url: str) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "off",
                "entity": "deal",
                "event": "create",
                "enabled": False,
                "actions": [task_for("never")],
            }
        ),
    )
    world.runtime().create("deal", {"title": "d"})
    assert world.count("task") == 0


def test_a_trigger_does_not_hide_the_writes_own_validation(db_url: str) -> None:
    world = make_world(
        db_url, bundle({"name": "big", "entity": "deal", "event": "create", "actions": [task_for("t")]})
    )
    with pytest.raises(RecordInvalid):
        world.runtime().create("deal", {"amount": 3})
    assert world.count("task") == 0


def test_a_condition_that_fails_is_logged_and_the_write_still_commits(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(
        db_url,
        bundle(
            {
                "name": "odd",
                "entity": "deal",
                "event": "create",
                "condition": "amount > 0",
                "actions": [task_for("t")],
            }
        ),
    )

    def broken(self: Expressions, site: Any, entity_name: str, text: str, conn: Any, *args: Any) -> Any:
        conn.exec_driver_sql("SELECT no_such_column FROM no_such_table")  # aborts the savepoint on PostgreSQL

    monkeypatch.setattr(Expressions, "evaluate", broken)
    deal = world.runtime().create("deal", {"title": "d", "amount": 3})
    assert world.runtime().get("deal", deal["id"])["title"] == "d"
    assert world.count("task") == 0
    [failure] = world.rows(action_log, action_log.c.status == "failed")
    assert (failure["action"], failure["message"].startswith("condition failed")) == ("condition", True)
