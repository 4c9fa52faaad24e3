"""The education pack installed by the pack installer on a fresh site whose clock only moves when told to.

site = edu_site(db_url, tmp_path)                   # with its org, demo users and sample records
site = edu_site(db_url, tmp_path, records=False)    # org and demo users only: scenarios start clean
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metamodel.records.hooks import Actor
from metamodel.records.query import ListQuery
from metamodel.records.runtime import SYSTEM, RecordRuntime
from rule_engine.scheduler.runner import RunReport, run_due
from rule_engine.tables import inbox
from rule_engine.testing.world import T0, FakeClock
from tests.industry_templates.packsupport import Site, build_site, copy_pack

PACK = Path(__file__).resolve().parents[3] / "industry_templates" / "packs" / "education"
ENTITIES = (
    "course",
    "edu_class",
    "edu_lead",
    "follow_up",
    "student",
    "enrollment",
    "attendance",
    "care_ticket",
)


def pack_json(path: str) -> Any:
    """Return one JSON file of the pack."""
    return json.loads((PACK / path).read_text("utf-8"))


@dataclass
class EduSite:
    """An app with the education pack installed, its fake clock, and a few helpers."""

    site: Site
    clock: FakeClock

    def runtime(self) -> RecordRuntime:
        return self.site.runtime()

    def user(self, username: str) -> int:
        """Return a demo user's id."""
        return self.site.user_id(username)

    def actor(self, username: str) -> Actor:
        """Return a signed-in user; the runtime reads the clock and her grants on each operation."""
        return self.site.actor(username)

    def all(self, entity: str, actor: Actor = SYSTEM) -> list[dict[str, Any]]:
        """Return every record of ``entity`` the actor may read, oldest first."""
        return list(self.runtime().list(entity, ListQuery(sort="id", limit=500), actor).items)

    def by(self, entity: str, key: str, value: Any) -> dict[str, Any]:
        """Return the one record of ``entity`` whose ``key`` is ``value``."""
        found = [r for r in self.all(entity) if r[key] == value]
        assert len(found) == 1, (entity, key, value, found)
        return found[0]

    def run_due(self) -> RunReport:
        """Run the scheduler's due scan once at the clock's time."""
        svc = self.site.services
        return run_due(svc.engine, svc.metadata.model(), self.clock(), svc.rules, svc.hooks)

    def inbox(self) -> list[dict[str, Any]]:
        """Return the in-app messages, oldest first."""
        with self.site.services.engine.connect() as conn:
            return [dict(r) for r in conn.execute(inbox.select().order_by(inbox.c.id)).mappings()]


def edu_site(db_url: str, tmp_path: Path, *, records: bool = True, now: dt.datetime = T0) -> EduSite:
    """Install the education pack with its demo org and users (and its sample records) at ``now``."""
    site = build_site(db_url, tmp_path / "instance")
    clock = FakeClock(now)
    site.services.clock = clock
    site.services.rules.clock = clock
    pack: Path = PACK
    if not records:
        pack = copy_pack(PACK, tmp_path / "education")
        (pack / "sample_data" / "records.json").unlink()
    site.install(pack, sample=True)
    return EduSite(site, clock)


def school(site: EduSite) -> dict[str, Any]:
    """A course, a class whose owner (the class advisor) is Wang, and two enrolled students of Li's."""
    runtime = site.runtime()
    manager = site.actor("edu_manager_xh")
    course = runtime.create("course", {"code": "MATH-G4", "name": "思维数学", "subject": "math"}, manager)
    klass = runtime.create(
        "edu_class",
        {
            "code": "XH-M4-01",
            "name": "周六上午班",
            "course": course["id"],
            "owner_id": site.user("edu_advisor_wang"),
        },
        manager,
    )
    li = site.actor("edu_advisor_li")
    enrolled = {}
    for name, phone in (("孙嘉怡", "+8613900000011"), ("周子轩", "+8613900000012")):
        student = runtime.create(
            "student", {"name": name, "guardian_name": "家长", "guardian_phone": phone}, li
        )
        enrolled[name] = runtime.create(
            "enrollment", {"student": student["id"], "edu_class": klass["id"], "purchased_hours": "40"}, li
        )
    return {"class": klass, "enrollments": enrolled}


def take(site: EduSite, enrollment: dict[str, Any], statuses: str, first: dt.date) -> list[int]:
    """The teacher records weekly lessons: P present, A absent, L late, E excused."""
    teacher = site.actor("edu_teacher_chen")
    kinds = {"P": "present", "A": "absent", "L": "late", "E": "leave"}
    return [
        site.runtime().create(
            "attendance",
            {
                "enrollment": enrollment["id"],
                "lesson_on": (first + dt.timedelta(weeks=n)).isoformat(),
                "status": kinds[s],
            },
            teacher,
        )["id"]
        for n, s in enumerate(statuses)
    ]
