"""Acceptance: a care ticket opens on a student's 3rd consecutive absence (an aggregate over linked records)."""

from __future__ import annotations

from typing import Any

from rule_engine.testing.world import entity, make_world, select_field

THIRD_ABSENCE = (
    "status == 'absent'"
    " and last_n_count('attendance.student', 3, \"status == 'absent'\", 'lesson_on') == 3"
    " and last_n_count('attendance.student', 4, \"status == 'absent'\", 'lesson_on') != 4"
)
SCHOOL: dict[str, Any] = {
    "entity": {
        "student": entity(
            "student", [{"name": "name", "type": "text", "required": True}], title_field="name"
        ),
        "attendance": entity(
            "attendance",
            [
                {
                    "name": "student",
                    "type": "link",
                    "target": "student",
                    "on_delete": "cascade",
                    "required": True,
                },
                {"name": "lesson_on", "type": "date"},
                select_field("status", ["present", "absent", "late"]),
            ],
        ),
        "care_ticket": entity(
            "care_ticket",
            [
                {"name": "subject", "type": "text", "required": True},
                {"name": "student", "type": "link", "target": "student", "on_delete": "cascade"},
                {"name": "attendance", "type": "link", "target": "attendance", "on_delete": "set_null"},
            ],
            title_field="subject",
        ),
    },
    "trigger": {
        "care_after_three_absences": {
            "name": "care_after_three_absences",
            "entity": "attendance",
            "event": "create",
            "condition": THIRD_ABSENCE,
            "actions": [
                {
                    "type": "create_record",
                    "entity": "care_ticket",
                    "link_field": "attendance",
                    "values": {"subject": "Three absences in a row", "student": {"expr": "student"}},
                }
            ],
        },
    },
}


def test_care_ticket_after_the_third_consecutive_absence(db_url: str) -> None:
    world = make_world(db_url, SCHOOL)
    runtime = world.runtime()
    kim = runtime.create("student", {"name": "Kim"})["id"]
    lee = runtime.create("student", {"name": "Lee"})["id"]

    def attend(student: int, day: int, status: str) -> int:
        return int(
            runtime.create(
                "attendance", {"student": student, "lesson_on": f"2026-03-{day:02d}", "status": status}
            )["id"]
        )

    for day, status in enumerate(["absent", "absent", "present", "absent", "absent"], start=1):
        attend(kim, day, status)
        attend(lee, day, "absent" if day != 3 else "late")
    assert world.count("care_ticket") == 0  # interrupted runs of absences
    third = attend(kim, 6, "absent")
    attend(kim, 7, "absent")  # the 4th in a row does not open another ticket
    lee_third = attend(lee, 6, "absent")
    tickets = world.rows(world.metadata.model().entity("care_ticket").table)
    assert [(t["student"], t["attendance"], t["subject"]) for t in tickets] == [
        (kim, third, "Three absences in a row"),
        (lee, lee_third, "Three absences in a row"),
    ]
