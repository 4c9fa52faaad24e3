"""A 3rd absence in a row opens one care ticket for the class advisor; interrupted absences do not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.industry_templates.education.edusupport import EduSite, school, take


def test_third_absence_in_a_row_opens_one_care_ticket_for_the_class_advisor(
    edu: Callable[..., EduSite],
) -> None:
    site = edu(records=False)
    made = school(site)
    sun, zhou = made["enrollments"]["孙嘉怡"], made["enrollments"]["周子轩"]
    start = dt.date(2026, 1, 3)
    take(site, sun, "AAPAA", start)  # two in a row, a lesson attended, two in a row
    take(site, zhou, "APAEA", start)  # absent, present, absent: never three in a row
    assert site.all("care_ticket") == []

    third = take(site, sun, "A", start + dt.timedelta(weeks=5))[0]
    take(site, sun, "A", start + dt.timedelta(weeks=6))  # the 4th in a row opens no second ticket
    tickets = site.all("care_ticket")
    wang = site.user("edu_advisor_wang")
    assert [
        (t["reason"], t["enrollment"], t["attendance"], t["student"], t["edu_class"], t["owner_id"])
        for t in tickets
    ] == [("absences", sun["id"], third, sun["student"], made["class"]["id"], wang)]
    assert tickets[0]["status"] == "open" and "孙嘉怡" in tickets[0]["subject"]
    assert [(m["user_id"], m["record_id"]) for m in site.inbox()] == [(wang, tickets[0]["id"])]
    # The class advisor sees and works the ticket; the student's advisor (Li) does not own it.
    assert [t["id"] for t in site.all("care_ticket", site.actor("edu_advisor_wang"))] == [tickets[0]["id"]]
    assert site.all("care_ticket", site.actor("edu_advisor_li")) == []


def test_a_corrected_register_that_makes_three_absences_opens_the_ticket(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    made = school(site)
    sun = made["enrollments"]["孙嘉怡"]
    ids = take(site, sun, "AAP", dt.date(2026, 1, 3))
    assert site.all("care_ticket") == []
    site.runtime().update("attendance", ids[2], {"status": "absent"}, site.actor("edu_teacher_chen"))
    tickets = site.all("care_ticket")
    assert [(t["attendance"], t["owner_id"]) for t in tickets] == [(ids[2], site.user("edu_advisor_wang"))]
    site.runtime().update("attendance", ids[2], {"note": "生病"}, site.actor("edu_teacher_chen"))
    assert len(site.all("care_ticket")) == 1  # other edits do not open it again
    for status in ("present", "absent"):  # nor does correcting the same lesson back and forth
        site.runtime().update("attendance", ids[2], {"status": status}, site.actor("edu_teacher_chen"))
    assert len(site.all("care_ticket")) == 1
