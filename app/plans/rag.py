"""Derived delivery health of an action: RAG, overdue and slipping.

The rule is CONTRACT.md's (after the RAGB convention of local-government improvement plans, where
amber is "a risk but not yet an issue" and red "slipped beyond required timescales"): blue when
completed; red when overdue by more than 30 days or forecast more than 30 days after the due date;
amber when overdue, forecast after the due date, or not started after its planned start; else green.
Suspended and cancelled actions are never overdue. A partnership may set its own red threshold
(`red_after_days`, default the contract's 30).
"""

from dataclasses import dataclass
from datetime import date

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
