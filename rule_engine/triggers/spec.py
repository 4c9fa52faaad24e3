"""Typed, read-only views of trigger documents, compiled once per published metadata version.

Schedules of time triggers (``event: "time"``) take one of three forms:

* ``relative_to`` + ``offset_hours``: due at the date/datetime field's value plus the offset (negative
  offsets mean "before"); a date counts as midnight in the site's time zone (a site setting), so
  "3 days after 2026-03-01" on an Asia/Shanghai site is due at 2026-03-04 00:00 +08:00 (16:00 UTC the day
  before).
* ``state`` + ``in_state_hours``: due when the record has been in ``state`` that long without leaving it.
* ``cron`` (five crontab fields, in ``timezone``, by default the site's time zone): due at each slot.  With
  ``each_record`` (the default) the actions run for every record matching the condition at the slot;
  with ``each_record: false`` they run once per slot with no record (``record_id`` 0 in the ledger).

``lookback_hours`` (default 168, one week) only bounds how far back a newly seen rule reaches, so
publishing a rule does not act on years-old anchors.  From then on the scheduler keeps a per-rule
watermark and catches up everything due since it, however long it was down and however far back a
record is dated.  ``late_policy`` says what happens to a firing found more than ``late_after_hours``
(default 24) after it came due: ``fire_late`` (the default) fires it, ``skip`` records it in the ledger
as skipped, with the reason, where admins can list it.  A cron trigger catches up only its latest
missed slot (slots are coalesced), and only within its ``lookback_hours``.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metamodel.model import SiteModel

DEFAULT_LOOKBACK_HOURS = 168.0
DEFAULT_LATE_AFTER_HOURS = 24.0
LATE_POLICIES = ("fire_late", "skip")
EVENTS = ("create", "update", "delete", "transition", "time")


@dataclass(frozen=True)
class Schedule:
    """When a time trigger comes due."""

    kind: str  # relative | in_state | cron
    relative_to: str | None = None
    offset_hours: float = 0.0
    state: str | None = None
    in_state_hours: float = 0.0
    cron: str | None = None
    timezone: str | None = None  # None: the site's time zone, as it is when the rule runs
    each_record: bool = True
    lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    late_policy: str = "fire_late"
    late_after_hours: float = DEFAULT_LATE_AFTER_HOURS

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Schedule | None:
        """Return the schedule of a trigger's ``schedule`` object, or None when it names no kind."""
        if doc.get("cron"):
            kind = "cron"
        elif doc.get("relative_to"):
            kind = "relative"
        elif doc.get("state"):
            kind = "in_state"
        else:
            return None
        return cls(
            kind=kind,
            relative_to=doc.get("relative_to"),
            offset_hours=float(doc.get("offset_hours") or 0.0),
            state=doc.get("state"),
            in_state_hours=float(doc.get("in_state_hours") or 0.0),
            cron=doc.get("cron"),
            timezone=str(doc["timezone"]) if doc.get("timezone") else None,
            each_record=bool(doc.get("each_record", True)),
            lookback_hours=float(doc.get("lookback_hours", DEFAULT_LOOKBACK_HOURS)),
            late_policy=str(doc.get("late_policy") or "fire_late"),
            late_after_hours=float(doc.get("late_after_hours", DEFAULT_LATE_AFTER_HOURS)),
        )

    def zone_name(self, site: SiteModel) -> str:
        """Return the time zone the cron fields are read in: the rule's own, else the site's."""
        return self.timezone or site.time_zone.key

    @property
    def offset_seconds(self) -> int:
        """Offset of a relative schedule (or time in state) in whole seconds."""
        hours = self.offset_hours if self.kind == "relative" else self.in_state_hours
        return round(hours * 3600)

    @property
    def lookback_seconds(self) -> int:
        """How far back a due time may lie and still fire, in whole seconds."""
        return round(self.lookback_hours * 3600)

    def is_late(self, due_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether a firing due at ``due_at`` is skipped as too late under the rule's ``skip`` policy."""
        return self.late_policy == "skip" and now - due_at > dt.timedelta(hours=self.late_after_hours)


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger document in typed form."""

    name: str
    entity: str
    event: str
    enabled: bool
    condition: str | None
    changed_fields: tuple[str, ...]
    transition: str | None
    schedule: Schedule | None
    actions: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TriggerSpec:
        """Build from a trigger document (already valid against trigger.json)."""
        schedule = doc.get("schedule")
        return cls(
            name=str(doc["name"]),
            entity=str(doc["entity"]),
            event=str(doc["event"]),
            enabled=bool(doc.get("enabled", True)),
            condition=(str(doc["condition"]).strip() or None) if doc.get("condition") else None,
            changed_fields=tuple(doc.get("changed_fields") or ()),
            transition=doc.get("transition"),
            schedule=Schedule.from_doc(schedule) if isinstance(schedule, Mapping) else None,
            actions=tuple(doc.get("actions") or ()),
        )

    @property
    def needs_record(self) -> bool:
        """Whether firings have a record (all but cron triggers with ``each_record: false``)."""
        return not (
            self.schedule is not None and self.schedule.kind == "cron" and not self.schedule.each_record
        )


_cache: weakref.WeakKeyDictionary[SiteModel, tuple[TriggerSpec, ...]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def site_triggers(site: SiteModel) -> tuple[TriggerSpec, ...]:
    """Return the enabled triggers of a published version, in name order (cached per version)."""
    with _lock:
        found = _cache.get(site)
    if found is None:
        docs = site.bundle.docs("trigger")
        found = tuple(
            spec
            for spec in (TriggerSpec.from_doc(docs[name]) for name in sorted(docs))
            if spec.enabled and spec.entity in site.entities
        )
        with _lock:
            _cache[site] = found
    return found


def triggers_for(site: SiteModel, entity: str, event: str) -> list[TriggerSpec]:
    """Return the enabled triggers of ``entity`` that fire on ``event``."""
    return [t for t in site_triggers(site) if t.entity == entity and t.event == event]


def find_trigger(site: SiteModel, name: str) -> TriggerSpec | None:
    """Return the enabled trigger called ``name``, or None."""
    for spec in site_triggers(site):
        if spec.name == name:
            return spec
    return None


def workflow_of(site: SiteModel, entity: str) -> Mapping[str, Any] | None:
    """Return the workflow document of ``entity`` (the first by name), or None."""
    docs = site.bundle.docs("workflow")
    for name in sorted(docs):
        if docs[name].get("entity") == entity:
            return docs[name]
    return None
