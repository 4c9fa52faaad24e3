"""The rule-error log: every failed evaluation or firing of a rule, counted per rule and record.

After ``limit`` consecutive failures (no firing of the rule succeeding in between) the rule is switched
off at runtime and every active administrator finds a message in the in-app inbox; an administrator
switches it back on from the studio's "Rule errors" page (or the API) once the cause is fixed. A runtime
switch, not a metadata change: re-enabling needs no draft and publish, and a rollback or a pack
upgrade cannot silently switch a broken rule back on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from metamodel.records.batch import batch_cache
from metamodel.systables import users
from rule_engine.tables import inbox, rule_errors, rule_health

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 5
LIMIT_SERVICE = "rule_disable_after"  # the rule engine service holding the site's setting
_HEALTH_CACHE = "rule_health"
_RESET_CACHE = "rule_health_reset"  # rules whose failures a batch has already reset
_RESET = (
    rule_health.update()
    .where(rule_health.c.rule == bindparam("r_rule"), rule_health.c.consecutive > 0)
    .values(consecutive=0)
)


def failure_limit(services: Mapping[str, Any]) -> int:
    """Return after how many consecutive failures a rule is switched off (0: never)."""
    value = services.get(LIMIT_SERVICE, DEFAULT_LIMIT)
    return value if isinstance(value, int) and value >= 0 else DEFAULT_LIMIT


def limit_from_config(config: Mapping[str, Any]) -> int:
    """Read CRM_RULE_DISABLE_AFTER (consecutive failures before a rule is switched off; 0: never)."""
    raw = str(config.get("CRM_RULE_DISABLE_AFTER") or "").strip()
    if raw.isdigit() and len(raw) < 6:
        return int(raw)
    if raw:
        log.warning("CRM_RULE_DISABLE_AFTER=%r is not a whole number; using %s", raw, DEFAULT_LIMIT)
    return DEFAULT_LIMIT


def note_failure(
    conn: Connection,
    rule: str,
    entity: str,
    record_id: int | None,
    action: str,
    message: str,
    now: dt.datetime,
    limit: int = DEFAULT_LIMIT,
) -> bool:
    """Log one failure of ``rule`` (on ``record_id``); returns True when it switched the rule off."""
    cache = batch_cache(conn)
    if cache is not None:
        cache.pop(_HEALTH_CACHE, None)  # this failure may switch the rule off
        cache.pop(_RESET_CACHE, None)  # and the next success must reset its count again
    key = int(record_id or 0)
    values = {"entity": entity, "action": action[:40], "message": message[:2000], "last_at": now}
    where = (rule_errors.c.rule == rule) & (rule_errors.c.record_id == key)
    bumped = conn.execute(rule_errors.update().where(where).values(count=rule_errors.c.count + 1, **values))
    if not bumped.rowcount:
        try:
            with conn.begin_nested():
                conn.execute(
                    rule_errors.insert().values(rule=rule, record_id=key, count=1, first_at=now, **values)
                )
        except IntegrityError:  # a concurrent first failure of the same key: count on its row
            conn.execute(rule_errors.update().where(where).values(count=rule_errors.c.count + 1, **values))
    return _count(conn, rule, message, now, limit)


def note_success(conn: Connection, rule: str) -> None:
    """Reset the rule's consecutive failures after a firing that worked (no write when there were none)."""
    # In a batch, once per rule: after the first reset the count stays 0 until a failure, which
    # drops the mark (and a rollback drops the whole cache).
    cache = batch_cache(conn)
    done = cache.setdefault(_RESET_CACHE, set()) if cache is not None else None
    if done is not None and rule in done:
        return
    conn.execute(_RESET, {"r_rule": rule})
    if done is not None:
        done.add(rule)


def disabled_rules(conn: Connection, names: Iterable[str]) -> set[str]:
    """Return those of ``names`` that are switched off after repeated failures."""
    wanted = tuple(sorted(set(names)))
    if not wanted:
        return set()
    # A batch of imported records asks once; a failure noted in the batch drops the answer.
    cache = batch_cache(conn)
    known = cache.get(_HEALTH_CACHE, {}) if cache is not None else {}
    if wanted in known:
        return set(known[wanted])
    rows = conn.execute(
        select(rule_health.c.rule).where(
            rule_health.c.rule.in_(wanted), rule_health.c.disabled_at.is_not(None)
        )
    )
    off = {str(name) for name in rows.scalars()}
    if cache is not None:
        cache.setdefault(_HEALTH_CACHE, {})[wanted] = frozenset(off)
    return off


def enable_rule(conn: Connection, rule: str) -> bool:
    """Switch a rule back on and reset its failure count; returns whether it was off."""
    changed = conn.execute(
        rule_health.update()
        .where(rule_health.c.rule == rule, rule_health.c.disabled_at.is_not(None))
        .values(disabled_at=None, disabled_reason="", consecutive=0)
    )
    return bool(changed.rowcount)


def _count(conn: Connection, rule: str, message: str, now: dt.datetime, limit: int) -> bool:
    statement = select(rule_health).where(rule_health.c.rule == rule)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update()  # two workers failing at once count both failures
    row = conn.execute(statement).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(rule_health.insert().values(rule=rule, consecutive=0, disabled_reason=""))
        except IntegrityError:
            pass
        row = conn.execute(statement).mappings().first()
    assert row is not None
    consecutive = int(row["consecutive"]) + 1
    switch_off = bool(limit) and consecutive >= limit and row["disabled_at"] is None
    values: dict[str, Any] = {"consecutive": consecutive}
    if switch_off:
        values.update(disabled_at=now, disabled_reason=message[:2000])
    conn.execute(rule_health.update().where(rule_health.c.rule == rule).values(**values))
    if switch_off:
        log.error("rule %s switched off after %s consecutive failures: %s", rule, consecutive, message)
        _tell_admins(conn, rule, consecutive, message, now)
    return switch_off


def _tell_admins(conn: Connection, rule: str, failures: int, message: str, now: dt.datetime) -> None:
    admins = conn.execute(select(users.c.id).where(users.c.is_admin.is_(True), users.c.is_active.is_(True)))
    subject = (
        f"Rule {rule} switched off after {failures} failures / 规则 {rule} 连续失败 {failures} 次，已停用"
    )
    body = (
        f"The last error: {message}\n"
        "Fix the rule, then switch it back on under Studio > Rule errors.\n"
        f"最近的错误：{message}\n修复后请在“工作室 > 规则错误”中重新启用。"
    )
    rows = [
        {"user_id": int(user_id), "subject": subject[:300], "body": body, "rule": rule, "created_at": now}
        for user_id in admins.scalars()
    ]
    if rows:
        conn.execute(inbox.insert(), rows)
