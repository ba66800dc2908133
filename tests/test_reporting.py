"""The monthly reporting cycle: a plan's schedule and senior responsible officer, reporting periods and returns."""

from datetime import date
from typing import Any

import httpx

from app.reporting.schedule import Schedule, period_dates
from tests.factories import make_person, make_world
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch

SCHEDULE = {"meeting": {"week": 2, "weekday": "tuesday"}, "returns_due_working_days_before_meeting": 5}


def test_a_period_is_a_month_whose_returns_fall_due_before_the_next_months_meeting() -> None:
    by_meeting = Schedule.model_validate(SCHEDULE)
    # November 2026: the December meeting is the second Tuesday (8th); five working days before it is 1 December.
    assert period_dates(by_meeting, date(2026, 11, 17)) == (date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 8))
    # December 2026: the January meeting is the 12th; five working days before it is 5 January.
    assert period_dates(by_meeting, date(2026, 12, 3))[2:] == (date(2027, 1, 5), date(2027, 1, 12))
    by_day = Schedule.model_validate({"returns_due_day_of_month": 1})
    # 1 May 2027 is a Saturday and the 3rd the early May bank holiday: the April return is due on Tuesday 4 May.
    assert period_dates(by_day, date(2027, 4, 9)) == (date(2027, 4, 1), date(2027, 4, 30), date(2027, 5, 4), None)


async def test_a_plan_names_its_schedule_and_senior_responsible_officer(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    sro = await make_person(client, w.partnership, email="director.childrens@council.example")
    changed = await patch(client, f"plans/{w.plan['id']}", {"reporting_schedule": SCHEDULE, "senior_responsible_officer_id": sro["id"]})
    assert changed.status_code == 200, changed.text
    plan: dict[str, Any] = changed.json()
    assert plan["senior_responsible_officer_id"] == sro["id"]
    assert plan["reporting_schedule"]["meeting"] == {"week": 2, "weekday": "tuesday"}
    assert plan["reporting_schedule"]["reminder_working_days"] == [7, 2]
    assert (await client.get(f"/api/v1/plans/{w.plan['id']}")).json() == plan
    both = await patch(client, f"plans/{w.plan['id']}", {"reporting_schedule": {**SCHEDULE, "returns_due_day_of_month": 3}})
    assert_problem(both, 422)
    unknown = await patch(client, f"plans/{w.plan['id']}", {"senior_responsible_officer_id": "00000000-0000-4000-8000-000000000000"})
    assert_problem(unknown, 422)
