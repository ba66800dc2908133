"""A plan's reporting schedule: when each month's Delivery Group meets and when the returns for it are due.

A reporting period is a calendar month of delivery. Its returns are due in the month after: a set number of working
days before that month's Delivery Group meeting, or on a fixed day of that month. Working days are England's
(`app.plans.calendar`).
"""

import calendar
from datetime import date, timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from app.core.schemas import Body
from app.plans.calendar import is_working_day

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]


class MeetingDay(Body):
    """The Delivery Group's day in each month, e.g. the second Tuesday (`week: 2`) or the last Thursday (`week: -1`)."""

    week: Literal[1, 2, 3, 4, -1]
    weekday: Weekday


class Schedule(Body):
    """When periods open (the first day of each month, by `wsoa worker`) and when their returns are due."""

    frequency: Literal["monthly"] = "monthly"
    meeting: MeetingDay | None = Field(None, description="The Delivery Group's day in each month.")
    returns_due_working_days_before_meeting: Annotated[int, Field(ge=1, le=20)] | None = Field(
        None, description="Returns are due this many working days before the meeting (needs `meeting`)."
    )
    returns_due_day_of_month: Annotated[int, Field(ge=1, le=28)] | None = Field(
        None, description="Or: returns are due on this day of the month after the period (the next working day if it is not one)."
    )
    reminder_working_days: list[Annotated[int, Field(ge=1, le=20)]] = Field(
        default_factory=lambda: [7, 2], max_length=5, description="Owners are reminded this many working days before the due date."
    )
    escalate_after_working_days: Annotated[int, Field(ge=1, le=20)] = Field(
        3, description="A return still missing this many working days after its due date is escalated."
    )

    @model_validator(mode="after")
    def _one_due_rule(self) -> Self:
        by_meeting, by_day = self.returns_due_working_days_before_meeting, self.returns_due_day_of_month
        if (by_meeting is None) == (by_day is None):
            raise ValueError("give exactly one of returns_due_working_days_before_meeting and returns_due_day_of_month")
        if by_meeting is not None and self.meeting is None:
            raise ValueError("returns_due_working_days_before_meeting needs a meeting day")
        return self


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s month."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def meeting_in(month_start: date, meeting: MeetingDay) -> date:
    """The meeting day of the month that starts on `month_start`."""
    weekday = WEEKDAYS.index(meeting.weekday)
    days = [d for d in range(1, calendar.monthrange(month_start.year, month_start.month)[1] + 1)]
    matching = [month_start.replace(day=d) for d in days if month_start.replace(day=d).weekday() == weekday]
    return matching[meeting.week - 1] if meeting.week > 0 else matching[-1]


def working_days_before(day: date, count: int) -> date:
    current = day
    while count > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            count -= 1
    return current


def on_or_after_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def period_dates(schedule: Schedule, day: date) -> tuple[date, date, date, date | None]:
    """`(starts_on, ends_on, returns_due_on, meeting_on)` of the period holding `day`."""
    starts_on, ends_on = month_of(day)
    following = _next_month(starts_on)
    meeting_on = meeting_in(following, schedule.meeting) if schedule.meeting is not None else None
    if schedule.returns_due_working_days_before_meeting is not None:
        assert meeting_on is not None  # checked by the schedule's validator
        due = working_days_before(meeting_on, schedule.returns_due_working_days_before_meeting)
    else:
        assert schedule.returns_due_day_of_month is not None
        due = on_or_after_working_day(following.replace(day=schedule.returns_due_day_of_month))
    if meeting_on is not None and due > meeting_on:
        due = meeting_on
    return starts_on, ends_on, due, meeting_on
