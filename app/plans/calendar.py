"""Working days in England and Wales: Monday to Friday, except bank holidays.

Bank holidays come from the `holidays` package (England's calendar, which Wales shares), which is
maintained with each year's proclamations (jubilees, coronations, state funerals).
"""

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

from app.core.config import get_settings


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_day_on_or_before(day: date) -> date:
    """`day`, or the last working day before it."""
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def working_day_on_or_after(day: date) -> date:
    """`day`, or the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself never counts)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def submission_due_on(*, kind: str, report_published_on: date | None, working_days: dict[str, int]) -> date | None:
    """The submission deadline: `working_days[kind]` working days after the report is published.

    A WSoA is due 70 working days after publication (Ofsted/CQC, local area SEND inspection
    guidance). Other kinds have no fixed rule unless configured."""
    days = working_days.get(kind)
    if days is None or report_published_on is None:
        return None
    return add_working_days(report_published_on, days)


def plan_submission_due_on(plan: Mapping[str, Any], report_published_on: date | None) -> date | None:
    """A plan's submission deadline as every read and pack shows it: computed from its inspection report's
    publication when its kind has a working-day rule, else the date recorded on the plan."""
    computed = submission_due_on(
        kind=plan["kind"], report_published_on=report_published_on, working_days=get_settings().submission_working_days
    )
    return computed if computed is not None else plan.get("submission_due_on")
