"""Request and response models of the reporting cycle: periods, returns and notifications."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LongText, plan_date
from app.models.enums import NotificationKind, NotificationStatus, PeriodStatus, Rag, ReturnStatus

PLAN_ID = "8d1f6c2e-4b7a-4f0e-9a3d-5c2b1e0f9a87"
PERIOD_ID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
RETURN_ID = "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
ACTION_ID = "c4a7e1d2-5b3f-4c6a-8e9d-0f1a2b3c4d5e"
PERSON_ID = "5a0d8c1e-7b2f-4e61-9c3a-0f4e2b7d9a10"
STAMP: dict[str, Any] = {"created_at": "2026-11-01T06:00:00Z", "updated_at": "2026-11-01T06:00:00Z", "version": 1}
Narrative = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


# Periods -------------------------------------------------------------------------------------


class PeriodCreate(Body):
    plan_id: uuid.UUID
    starts_on: date | None = Field(
        None,
        description="The first day of the month reported on; with the plan's schedule, the dates left out are worked out "
        "from it (default: this month). Without a schedule, give `starts_on`, `ends_on` and `returns_due_on`.",
    )
    ends_on: date | None = None
    returns_due_on: date | None = None
    meeting_on: date | None = Field(None, description="The Delivery Group meeting that receives the returns.")

    _in_range = field_validator("starts_on", "ends_on", "returns_due_on", "meeting_on")(plan_date)


class PeriodState(PeriodCreate):
    """A period as a whole, checked after a change (its status included)."""

    status: PeriodStatus = PeriodStatus.open


class PeriodUpdate(Body):
    returns_due_on: date | None = None
    meeting_on: date | None = None
    status: PeriodStatus | None = Field(None, description="`closed` once the meeting has taken the returns; a closed period stays closed.")

    _in_range = field_validator("returns_due_on", "meeting_on")(plan_date)


class PeriodRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": PERIOD_ID,
                **STAMP,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "plan_id": PLAN_ID,
                "starts_on": "2026-11-01",
                "ends_on": "2026-11-30",
                "returns_due_on": "2026-12-01",
                "meeting_on": "2026-12-08",
                "status": "open",
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    starts_on: date
    ends_on: date
    returns_due_on: date
    meeting_on: date | None
    status: PeriodStatus


class PeriodQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    status: list[PeriodStatus] | None = Field(None, max_length=len(PeriodStatus), description="Repeat to match any of several.")


class StatusCounts(Body):
    expected: int
    submitted: int
    accepted: int
    returned: int
    missed: int
    total: int


class ActionReturnStatus(Body):
    return_id: uuid.UUID
    action_id: uuid.UUID
    action_ref: str
    action_title: str
    owner_id: uuid.UUID | None
    owner_name: str | None
    status: ReturnStatus
    missed: bool = Field(description="Missed at its due date, whether or not it was filed late.")
    proposed_rag: Rag | None
    agreed_rag: Rag | None
    submitted_at: datetime | None


class PeriodStatusRead(Body):
    period: PeriodRead
    counts: StatusCounts
    actions: list[ActionReturnStatus]


# Returns -------------------------------------------------------------------------------------


class ReturnRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": RETURN_ID,
                **STAMP,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "plan_id": PLAN_ID,
                "period_id": PERIOD_ID,
                "action_id": ACTION_ID,
                "owner_id": PERSON_ID,
                "status": "submitted",
                "returns_due_on": "2026-12-01",
                "proposed_rag": "amber",
                "narrative": "Two of three coordinators in post; the third starts in January.",
                "percent_complete": 60,
                "blockers": "Educational psychology advice still averages nine weeks.",
                "next_steps": "Commission extra EP sessions from the neighbouring authority.",
                "proposed_forecast_on": "2027-02-26",
                "submitted_at": "2026-11-27T10:12:00Z",
                "submitted_by": PERSON_ID,
                "progress_update_id": "b7a69584-7362-4514-a3b2-c1d0e9f8a7b6",
                "missed_at": None,
                "agreed_rag": None,
                "review_note": None,
                "reviewed_by": None,
                "reviewed_at": None,
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    period_id: uuid.UUID
    action_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: ReturnStatus
    returns_due_on: date
    proposed_rag: Rag | None
    narrative: str | None
    percent_complete: int | None
    blockers: str | None
    next_steps: str | None
    proposed_forecast_on: date | None
    submitted_at: datetime | None
    submitted_by: uuid.UUID | None
    progress_update_id: uuid.UUID | None
    missed_at: datetime | None = Field(description="When the return was found missing at its due date; kept if it is filed later.")
    agreed_rag: Rag | None
    review_note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


class ReturnQuery(ListQuery):
    period_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    status: list[ReturnStatus] | None = Field(None, max_length=len(ReturnStatus), description="Repeat to match any of several.")


class ReturnSubmission(Body):
    """What the owner reports: it is also appended to the action's progress updates."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "proposed_rag": "amber",
                "narrative": "Two of three coordinators in post; the third starts in January.",
                "percent_complete": 60,
                "blockers": "Educational psychology advice still averages nine weeks.",
                "next_steps": "Commission extra EP sessions from the neighbouring authority.",
                "proposed_forecast_on": "2027-02-26",
            }
        }
    )
    proposed_rag: Rag
    narrative: Narrative
    percent_complete: int | None = Field(None, ge=0, le=100)
    blockers: LongText | None = None
    next_steps: LongText | None = None
    proposed_forecast_on: date | None = Field(
        None, description="A new forecast completion date, moved on the action once a lead accepts it."
    )

    _in_range = field_validator("proposed_forecast_on")(plan_date)


class ReturnReview(Body):
    model_config = ConfigDict(
        json_schema_extra={"example": {"decision": "accept", "agreed_rag": "amber", "review_note": "Agreed at the December meeting."}}
    )
    decision: Literal["accept", "return"] = Field(description="`accept` the return, or `return` it to its owner for more.")
    agreed_rag: Rag | None = Field(None, description="The RAG the programme agrees for the period (needed to accept).")
    review_note: LongText | None = Field(None, description="Why (needed to return it).")
    accept_forecast: bool = Field(True, description="Accepting moves the action's `forecast_on` to the proposed date, if any.")


# Notifications -------------------------------------------------------------------------------


class NotificationRead(EntityRead):
    partnership_id: uuid.UUID
    return_id: uuid.UUID | None
    person_id: uuid.UUID
    to_address: str
    kind: NotificationKind
    reason: str
    subject: str
    status: NotificationStatus
    attempts: int
    sent_at: datetime | None
    last_error: str | None


class NotificationQuery(ListQuery):
    return_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    kind: NotificationKind | None = None
    status: NotificationStatus | None = None
