"""'Test on live data' for every rule of the rule builder: the rule engine's dry run (the one behind
POST /api/v1/meta/dry-run) on the published model, nothing written.

A trigger is tested as it is. A validation is tested as the records that break it now, a formula as the
records whose stored value it would change: both as an event trigger whose condition says so, so the
one dry run answers for all of them.
"""

from __future__ import annotations

import json
from typing import Any

from crm_platform.api.dryruntimes import DryRunTimes
from crm_platform.i18n import t
from crm_platform.services import services
from metamodel.errors import CrmError
from rule_engine.dryrun import dry_run

SHOWN = 20
_PROBE_ACTION = {"type": "notify", "to": ["owner"], "subject": "dry run"}


def test_trigger(doc: dict[str, Any], times: DryRunTimes | None = None) -> dict[str, Any]:
    """Return the dry run of a trigger document: ``{would_fire, matches (first 20), problems, ...}``.

    ``times`` asks about another moment than now, or (a time trigger) every firing due in a window; an
    event trigger's condition is judged as of the window's end."""
    svc = services()
    try:
        site = svc.metadata.model()
    except CrmError as exc:  # nothing published yet: there is no live data to test on
        return {
            "would_fire": 0,
            "matches": [],
            "problems": [{"message": exc.message}],
            "entity": doc.get("entity"),
        }
    now, since, until = svc.rules.clock(), None, None
    if times is not None:
        now = times.at
        if doc.get("event") == "time":
            since, until = times.since, times.until
        elif times.until is not None:
            now = times.until
    with svc.engine.connect() as conn:
        report = dry_run(doc, site, conn, now, svc.rules, SHOWN, until=until, since=since)
    if until is not None:
        report["window"] = (since or svc.rules.clock(), until)
    elif times is not None and times.until is not None:
        report["as_of"] = now
    report["entity"] = doc.get("entity")
    report["shown"] = len(report.get("matches") or [])
    return report


def test_condition(entity: str, condition: str) -> dict[str, Any]:
    """Dry-run the records of ``entity`` for which ``condition`` holds now."""
    probe = {"name": "studio_test", "entity": entity, "event": "update", "condition": condition}
    return test_trigger({**probe, "actions": [_PROBE_ACTION]})


def test_validation(entity: str, condition: str) -> dict[str, Any]:
    """The records that break a validation now (its condition is false for them)."""
    report = test_condition(entity, f"not ({condition})")
    report["what"] = t("studio.rules.test_validation")
    return report


def test_formula(entity: str, field: str, formula: str) -> dict[str, Any]:
    """The records whose stored value the formula would change."""
    report = test_condition(entity, f"{field} != ({formula})")
    report["what"] = t("studio.rules.test_formula")
    return report


def test_transition(entity: str, state_field: str, sources: list[str], guard: str) -> dict[str, Any]:
    """The records that could take a transition now: in one of its states, its condition holding."""
    states = " or ".join(f"{state_field} == {json.dumps(s)}" for s in sources if s != "*")
    parts = [f"({states})" if states else "", f"({guard})" if guard else ""]
    report = test_condition(entity, " and ".join(p for p in parts if p) or "true")
    report["what"] = t("studio.wf.test_transition")
    return report


__all__ = ["SHOWN", "test_condition", "test_formula", "test_transition", "test_trigger", "test_validation"]
