"""Derived delivery health of an action: RAG, overdue and slipping.

The rule is the service's (after the RAGB convention of local-government improvement plans, where
amber is "a risk but not yet an issue" and red "slipped beyond required timescales"): blue when
completed; red when overdue by more than 30 days or forecast more than 30 days after the due date;
amber when overdue, forecast after the due date, or not started after its planned start; else green.
Suspended and cancelled actions are never overdue. A partnership may set its own red threshold
(`red_after_days`, default 30).

Moving a due date must not hide slippage, so the same rule is also applied against the frozen
`baseline_due_on` (`baseline_rag`), and `variance_days` is how far delivery lies past the baseline:
the completion date, or while open the latest of the due date, the forecast and (once overdue) today. `assess` gives all of it for one action row; every read,
summary, history point, alert and pack uses it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.models.enums import ActionStatus, Rag

RED_AFTER_DAYS = 30
NEVER_OVERDUE = {ActionStatus.completed, ActionStatus.suspended, ActionStatus.cancelled}


@dataclass(frozen=True, slots=True)
class Health:
    rag: Rag
    is_overdue: bool
    days_overdue: int
    is_slipping: bool


def derive(
    *,
    status: str,
    planned_start_on: date | None,
    due_on: date | None,
    forecast_on: date | None,
    today: date,
    red_after_days: int = RED_AFTER_DAYS,
) -> Health:
    if status == ActionStatus.completed:
        return Health(Rag.blue, False, 0, False)
    overdue = status not in NEVER_OVERDUE and due_on is not None and due_on < today
    days_overdue = (today - due_on).days if overdue and due_on is not None else 0
    forecast_slip = (forecast_on - due_on).days if forecast_on is not None and due_on is not None else 0
    not_started_late = status == ActionStatus.not_started and planned_start_on is not None and planned_start_on < today
    slipping = not overdue and (forecast_slip > 0 or not_started_late)
    if days_overdue > red_after_days or forecast_slip > red_after_days:
        rag = Rag.red
    elif overdue or forecast_slip > 0 or not_started_late:
        rag = Rag.amber
    else:
        rag = Rag.green
    return Health(rag, overdue, days_overdue, slipping)


@dataclass(frozen=True, slots=True)
class Slippage:
    """An action's health against its agreed due date and against its baseline."""

    rag: Rag
    is_overdue: bool
    days_overdue: int
    is_slipping: bool
    baseline_rag: Rag
    variance_days: int | None


def variance(
    *, status: str, due_on: date | None, baseline_due_on: date | None, forecast_on: date | None, completed_on: date | None, today: date
) -> int | None:
    """Days from the baseline to when the action was or will be delivered: the completion date of a completed
    action; for an open one the latest of its due date, its forecast and, once it is overdue, today; the due
    date of a suspended or cancelled one. Null without a baseline."""
    if baseline_due_on is None:
        return None
    if status == ActionStatus.completed and completed_on is not None:
        end: date | None = completed_on
    elif status in NEVER_OVERDUE:
        end = due_on
    else:
        candidates = [d for d in (due_on, forecast_on) if d is not None]
        if due_on is not None and due_on < today:
            candidates.append(today)
        end = max(candidates, default=None)
    return None if end is None else (end - baseline_due_on).days


def assess(action: Mapping[str, Any], today: date, red_after_days: int = RED_AFTER_DAYS) -> Slippage:
    """The derived health of an action row (`status`, `planned_start_on`, `due_on`, `baseline_due_on`,
    `forecast_on`, `completed_on`). Without a baseline, the baseline RAG is the RAG."""
    common = {
        "status": action["status"],
        "planned_start_on": action.get("planned_start_on"),
        "forecast_on": action.get("forecast_on"),
        "today": today,
        "red_after_days": red_after_days,
    }
    agreed = derive(due_on=action.get("due_on"), **common)
    baseline = action.get("baseline_due_on")
    against_baseline = agreed if baseline is None else derive(due_on=baseline, **common)
    return Slippage(
        rag=agreed.rag,
        is_overdue=agreed.is_overdue,
        days_overdue=agreed.days_overdue,
        is_slipping=agreed.is_slipping,
        baseline_rag=against_baseline.rag,
        variance_days=variance(
            status=action["status"],
            due_on=action.get("due_on"),
            baseline_due_on=baseline,
            forecast_on=action.get("forecast_on"),
            completed_on=action.get("completed_on"),
            today=today,
        ),
    )
