"""Sign-in failure counters per user name and per client address, with a growing lock after too many."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from crm_platform.auth.upsert import insert_for
from metamodel.systables import auth_throttle


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures lock a user name or an address, and for how long."""

    user_failures: int = 5
    ip_failures: int = 50  # many people may share one address (offices, NAT), so it is looser
    quiet: dt.timedelta = dt.timedelta(minutes=15)  # failures this far apart (after a lock ends) start over
    first_lock: dt.timedelta = dt.timedelta(minutes=1)
    longest_lock: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LockoutPolicy:
        """Read the policy from the app's ``CRM_LOGIN_*`` settings."""
        return cls(
            user_failures=int(config.get("CRM_LOGIN_MAX_FAILURES", 5)),
            ip_failures=int(config.get("CRM_LOGIN_IP_MAX_FAILURES", 50)),
            quiet=dt.timedelta(minutes=float(config.get("CRM_LOGIN_WINDOW_MINUTES", 15))),
            first_lock=dt.timedelta(seconds=float(config.get("CRM_LOGIN_LOCK_SECONDS", 60))),
        )

    def lock_for(self, failures: int, limit: int) -> dt.timedelta:
        """Return the lock after ``failures`` failures: doubling from the first lock, up to the longest."""
        doublings = min(failures - limit, 20)
        factor: float = 2**doublings  # a fraction when failures are under the limit
        return min(self.first_lock * factor, self.longest_lock)


def user_key(username: str) -> str:
    """Return the counter key of a user name (whether or not such a user exists)."""
    return "user:" + username[:80]


def ip_key(ip: str) -> str:
    """Return the counter key of a client address."""
    return "ip:" + ip[:64]


def locked_until(engine: Engine, keys: Sequence[str], now: dt.datetime) -> dt.datetime | None:
    """Return when the latest lock on any of ``keys`` ends, or None when none is locked."""
    with engine.connect() as conn:
        found = conn.execute(
            select(func.max(auth_throttle.c.locked_until)).where(
                auth_throttle.c.key.in_(list(keys)), auth_throttle.c.locked_until > now
            )
        ).scalar()
    return found if isinstance(found, dt.datetime) else None


def record_failure(engine: Engine, key: str, limit: int, policy: LockoutPolicy, now: dt.datetime) -> None:
    """Count one failure for ``key``; reaching ``limit`` locks it, each further failure for twice as long."""
    table = auth_throttle
    start_over = or_(
        and_(table.c.locked_until.is_(None), table.c.last_failure_at < now - policy.quiet),
        table.c.locked_until < now - policy.quiet,
    )
    with engine.begin() as conn:
        # One atomic statement, so workers counting at the same time do not lose failures.
        upsert = insert_for(conn, table).values(key=key, failures=1, last_failure_at=now, locked_until=None)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((start_over, 1), else_=table.c.failures + 1),
                    "locked_until": case((start_over, None), else_=table.c.locked_until),
                    "last_failure_at": now,
                },
            )
        )
        failures = conn.execute(select(table.c.failures).where(table.c.key == key)).scalar_one()
        if failures >= limit:
            until = now + policy.lock_for(failures, limit)
            conn.execute(table.update().where(table.c.key == key).values(locked_until=until))


def clear(engine: Engine, key: str) -> bool:
    """Forget the failures of ``key`` (after a successful sign-in, or an administrator's unlock)."""
    with engine.begin() as conn:
        return bool(conn.execute(auth_throttle.delete().where(auth_throttle.c.key == key)).rowcount)
