"""Cron schedules: five crontab fields read with crontab's weekday numbers, and the latest due slot."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Windows tried, smallest first, when looking back for the latest slot (bounded work per lookup).
_WINDOWS = (dt.timedelta(minutes=2), dt.timedelta(hours=2), dt.timedelta(days=2), dt.timedelta(days=40))


def _weekday_item(item: str) -> str:
    # APScheduler 3 numbers weekdays from Monday = 0; crontab from Sunday = 0 (7 too): use names.
    body, _, step_text = item.partition("/")
    if not any(ch.isdigit() for ch in body):
        return item
    step = int(step_text) if step_text else 1
    if body == "*":
        low, high = 0, 6
    elif "-" in body:
        low_text, high_text = body.split("-", 1)
        low, high = int(low_text), int(high_text)
    else:
        low = int(body)
        high = 6 if step_text else low
    if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high and step >= 1):
        raise ValueError(f"day-of-week '{item}' is out of range (0-7, Sunday is 0 or 7)")
    return ",".join(dict.fromkeys(_DAY_NAMES[day % 7] for day in range(low, high + 1, step)))


def parse_cron(expression: str, timezone: str = "UTC") -> CronTrigger:
    """Return the trigger of a five-field crontab expression; ValueError explains a mistake."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron schedule has 5 fields (minute hour day month weekday), not {len(fields)}")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{timezone}'") from None
    try:
        fields[4] = ",".join(_weekday_item(item) for item in fields[4].split(","))
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=zone)


def latest_slot(trigger: CronTrigger, now: dt.datetime, lookback: dt.timedelta) -> dt.datetime | None:
    """Return the latest slot at or before ``now`` and after ``now - lookback``, in UTC, or None."""
    for window in (*[w for w in _WINDOWS if w < lookback], lookback):
        start = now - window
        slot = trigger.get_next_fire_time(None, start)
        if slot is None or slot > now:
            continue
        latest = slot
        while True:
            following = trigger.get_next_fire_time(latest, latest + dt.timedelta(seconds=1))
            if following is None or following > now:
                found: dt.datetime = latest.astimezone(dt.UTC)
                return found
            latest = following
    return None
