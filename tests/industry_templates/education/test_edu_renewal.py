"""Paid hours minus attended hours; one renewal reminder each time the hours left fall to the threshold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from metamodel.errors import RecordInvalid
from tests.industry_templates.education.edusupport import EduSite, school, take


def renewals(site: EduSite) -> list[dict[str, Any]]:
    return [t for t in site.all("care_ticket") if t["reason"] == "renewal"]


def test_the_renewal_reminder_fires_once_when_the_hours_left_reach_the_threshold(
    edu: Callable[..., EduSite],
) -> None:
    site = edu(records=False)
    made = school(site)  # 2-hour lessons; the course's default threshold: 4 hours left
    li = site.actor("edu_advisor_li")
    sun = site.runtime().update(
        "enrollment", made["enrollments"]["孙嘉怡"]["id"], {"purchased_hours": "10"}, li
    )
    assert (sun["remaining_hours"], sun["renewal_threshold"], sun["hours_low"]) == ("10.0", "4.0", False)
    week = dt.date(2026, 1, 3)

    take(site, sun, "PAE", week)  # absences and excused lessons are free
    take(site, sun, "L", week + dt.timedelta(weeks=3))
    got = site.runtime().get("enrollment", sun["id"])
    assert (got["attended_hours"], got["remaining_hours"], got["hours_low"]) == ("4.0", "6.0", False)
    assert renewals(site) == []
    crossing = take(site, sun, "P", week + dt.timedelta(weeks=4))[0]  # 4 hours left: the threshold
    take(site, sun, "P", week + dt.timedelta(weeks=5))  # 2 hours left: still low, no second reminder
    tickets = renewals(site)
    # The lesson's attendance moves the enrolment's hours roll-up, which is an update of the enrolment:
    # its own rule (hours_low turning true) reminds, once, whatever lowered the hours.
    assert crossing
    assert [(t["enrollment"], t["owner_id"]) for t in tickets] == [
        (sun["id"], site.user("edu_advisor_li"))  # the advisor who owns the enrolment
    ]
    assert site.runtime().get("enrollment", sun["id"])["remaining_hours"] == "2.0"
    assert [m["user_id"] for m in site.inbox()] == [site.user("edu_advisor_li")]

    # Used up: the last two hours may be attended, a further lesson is refused until the family renews.
    take(site, sun, "P", week + dt.timedelta(weeks=6))
    with pytest.raises(RecordInvalid):
        take(site, sun, "P", week + dt.timedelta(weeks=7))
    got = site.runtime().get("enrollment", sun["id"])
    assert (got["attended_hours"], got["remaining_hours"]) == ("10.0", "0.0")

    # Renewed: the hours rise above the threshold; falling to it again is a new crossing, reminded once more.
    renewed = site.runtime().update("enrollment", sun["id"], {"purchased_hours": "20"}, li)
    assert (renewed["remaining_hours"], renewed["hours_low"]) == ("10.0", False)
    take(site, sun, "PP", week + dt.timedelta(weeks=7))
    assert len(renewals(site)) == 1  # 6 hours left
    take(site, sun, "P", week + dt.timedelta(weeks=9))
    assert [t["enrollment"] for t in renewals(site)] == [sun["id"], sun["id"]]


def test_editing_the_paid_hours_down_to_the_threshold_reminds_once(edu: Callable[..., EduSite]) -> None:
    site = edu(records=False)
    made = school(site)
    li = site.actor("edu_advisor_li")
    zhou = made["enrollments"]["周子轩"]
    take(site, zhou, "PP", dt.date(2026, 1, 3))
    site.runtime().update("enrollment", zhou["id"], {"purchased_hours": "8"}, li)  # 4 hours left
    site.runtime().update("enrollment", zhou["id"], {"notes": "家长考虑续费"}, li)
    site.runtime().update("enrollment", zhou["id"], {"purchased_hours": "7"}, li)  # still low
    assert [(t["enrollment"], t["owner_id"]) for t in renewals(site)] == [
        (zhou["id"], site.user("edu_advisor_li"))
    ]
