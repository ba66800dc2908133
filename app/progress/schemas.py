"""Response models of the progress reports."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.impact.schemas import ConcernImpact
from app.models.enums import AlertKind, Severity


class ActionCounts(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="Every action status, with zeros.")
    by_rag: dict[str, int] = Field(description="Derived RAG (red, amber, green, blue) on the summary's date, against each `due_on`.")
    by_baseline_rag: dict[str, int] = Field(
        description="The same rule against each action's `baseline_due_on` (frozen at acceptance): moved dates do not hide slippage."
    )
    reprogrammed: int = Field(description="Actions whose due date was moved at least once after acceptance, by then.")


class ConcernSummary(ConcernImpact):
    id: uuid.UUID
    ref: str
    title: str
    judgement: str
    rag: str | None = Field(description="Delivery RAG: the worst RAG of the concern's open actions; blue when all are completed.")
    baseline_rag: str | None = Field(description="The same against the actions' baseline RAG.")
    actions: ActionCounts = Field(description="The concern's actions; an action answering several concerns counts under each.")


class MoveSummary(BaseModel):
    previous_due_on: date | None
    new_due_on: date | None
    reason: str
    approved_at_meeting: str | None
    created_at: datetime


class OffCourseAction(BaseModel):
    id: uuid.UUID
    ref: str
    title: str
    status: str
    rag: str = Field(description="Against the agreed `due_on`.")
    baseline_rag: str = Field(description="Against the baseline frozen at acceptance.")
    reported_rag: str | None = Field(description="The owner's RAG in the latest progress update by then.")
    agreed_rag: str | None = Field(description="The RAG the programme agreed in the latest accepted monthly return by then.")
    days_overdue: int
    variance_days: int | None = Field(description="Days from the baseline to delivery, as on the action.")
    reprogramme_count: int
    latest_reprogramme: MoveSummary | None
    reason: str | None = Field(
        description="The latest reprogramme's reason, unless the action is off course against its moved date and a later "
        "progress update names blockers; else the latest blockers; null when nothing was recorded. Packs print the same."
    )


class MeasureSummary(BaseModel):
    id: uuid.UUID
    name: str
    unit: str
    concern_ids: list[uuid.UUID]
    baseline_value: float
    target_value: float
    latest_value: float | None
    latest_period_end_on: date | None
    latest_denominator: int | None = Field(description="How many the latest value was counted over, where recorded.")
    expected_value: float | None
    status: str


class Measures(BaseModel):
    total: int
    by_status: dict[str, int]
    items: list[MeasureSummary]


class FundingYear(BaseModel):
    financial_year: str
    allocated: str
    spent: str
    remaining: str


class FundingTotal(BaseModel):
    allocated: str
    spent: str
    remaining: str


class Funding(BaseModel):
    currency: Literal["GBP"]
    years: list[FundingYear]
    total: FundingTotal


class PeriodSummary(BaseModel):
    id: uuid.UUID
    starts_on: date
    ends_on: date
    returns_due_on: date
    meeting_on: date | None
    status: str


class MissedReturn(BaseModel):
    action_id: uuid.UUID
    ref: str
    filed_late: bool


class ReportingSummary(BaseModel):
    period: PeriodSummary
    returns: dict[str, int] = Field(description="By state (`expected`, `submitted`, `accepted`, `returned`, `missed`) and `total`.")
    missed: list[MissedReturn]
    by_agreed_rag: dict[str, int] = Field(description="Accepted returns by the RAG the programme agreed.")


class PlanSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "as_of": "2018-09-30",
                "plan_status": "in_delivery",
                "recorded_at": "2018-09-30T22:59:59.999999Z",
                "actions": {
                    "total": 25,
                    "by_status": {"not_started": 1, "in_progress": 14, "completed": 10, "suspended": 0, "cancelled": 0},
                    "by_rag": {"red": 3, "amber": 6, "green": 6, "blue": 10},
                    "by_baseline_rag": {"red": 5, "amber": 5, "green": 5, "blue": 10},
                    "reprogrammed": 3,
                },
                "actions_in_several_concerns": 1,
                "concerns": [],
                "off_course": [
                    {
                        "id": "c0ffee00-1234-4abc-8def-0123456789ab",
                        "ref": "1.3",
                        "title": "Issue 90% of new EHC plans within 20 weeks",
                        "status": "in_progress",
                        "rag": "green",
                        "baseline_rag": "red",
                        "reported_rag": "amber",
                        "days_overdue": 0,
                        "variance_days": 91,
                        "reprogramme_count": 1,
                        "latest_reprogramme": {
                            "previous_due_on": "2018-06-30",
                            "new_due_on": "2018-09-29",
                            "reason": "Educational psychology capacity arrives in September.",
                            "approved_at_meeting": "SEND Delivery Group, 12 June 2018, decision 3",
                            "created_at": "2018-06-13T09:12:00Z",
                        },
                        "reason": "Educational psychology capacity arrives in September.",
                    }
                ],
                "measures": {"total": 1, "by_status": {"on_track": 0, "behind": 0, "off_track": 1, "no_data": 0}, "items": []},
                "funding": {
                    "currency": "GBP",
                    "years": [{"financial_year": "2018/19", "allocated": "454000.00", "spent": "301250.00", "remaining": "152750.00"}],
                    "total": {"allocated": "454000.00", "spent": "301250.00", "remaining": "152750.00"},
                },
            }
        }
    )
    plan_id: uuid.UUID
    as_of: date
    recorded_at: datetime = Field(
        description="The moment the figures describe: the end of `as_of` in the partnership's time zone, or now while that day "
        "is not over. History points and packs for the same day and moment show the same figures."
    )
    plan_status: str | None = Field(description="The plan's status on that date (null if it did not exist yet).")
    actions: ActionCounts
    actions_in_several_concerns: int = Field(
        description="Actions answering more than one concern: each counts under every concern it answers, so the concerns' "
        "counts add up to more than `actions.total` by this many (or more)."
    )
    concerns: list[ConcernSummary]
    off_course: list[OffCourseAction] = Field(
        description="Every action red or amber against its due date or its baseline, or suspended or cancelled, by ref: the "
        "exception report a Delivery Group reads first."
    )
    measures: Measures
    funding: Funding
    reporting: ReportingSummary | None = Field(
        description="The latest reporting period begun by then (null if none): its returns by state, the missed ones (kept "
        "as missed when filed late) and the RAGs the programme agreed."
    )


class MeasurePoint(BaseModel):
    id: uuid.UUID
    name: str
    latest_value: float | None
    latest_period_end_on: date | None
    status: str


class HistoryPoint(BaseModel):
    as_of: date = Field(description="The last day of the period (or `to`).")
    recorded_at: datetime = Field(description="The moment the point describes, as on the summary.")
    plan_status: str | None
    actions: ActionCounts
    measures_by_status: dict[str, int]
    measures: list[MeasurePoint] = Field(description="Each measure's latest value by then, as the summary gives it.")


class PlanHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "granularity": "month",
                "points": [
                    {
                        "as_of": "2018-01-31",
                        "recorded_at": "2018-01-31T23:59:59.999999Z",
                        "plan_status": "in_delivery",
                        "actions": {
                            "total": 25,
                            "by_status": {"not_started": 4, "in_progress": 17, "completed": 4, "suspended": 0, "cancelled": 0},
                            "by_rag": {"red": 1, "amber": 5, "green": 15, "blue": 4},
                            "by_baseline_rag": {"red": 1, "amber": 5, "green": 15, "blue": 4},
                            "reprogrammed": 0,
                        },
                        "measures_by_status": {"on_track": 0, "behind": 1, "off_track": 0, "no_data": 0},
                        "measures": [
                            {
                                "id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
                                "name": "New EHC plans issued within 20 weeks",
                                "latest_value": 42.5,
                                "latest_period_end_on": "2017-12-31",
                                "status": "behind",
                            }
                        ],
                    }
                ],
            }
        }
    )
    plan_id: uuid.UUID
    granularity: Literal["month", "quarter"]
    points: list[HistoryPoint]


class Alert(BaseModel):
    kind: AlertKind
    severity: Severity
    action_id: uuid.UUID | None
    measure_id: uuid.UUID | None
    milestone_id: uuid.UUID | None
    risk_id: uuid.UUID | None = Field(description="The risk, for the risk register's alerts.")
    meeting_action_id: uuid.UUID | None = Field(description="The meeting action, for one done late.")
    ref: str | None = Field(description="The action's (or risk's) reference, when the alert is about an action, its milestone or a risk.")
    title: str | None = Field(description="The action's, risk's or meeting action's title.")
    owner_id: uuid.UUID | None = Field(description="Its owner.")
    owner_name: str | None = Field(description="The owner's name, to chase them without another call.")
    detail: str


class Thresholds(BaseModel):
    stale_after_days: int
    red_after_days: int


class PlanAlerts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "as_of": "2018-09-30",
                "thresholds": {"stale_after_days": 30, "red_after_days": 30},
                "counts": {"overdue": 1},
                "items": [
                    {
                        "kind": "overdue",
                        "severity": "high",
                        "action_id": "c0ffee00-1234-4abc-8def-0123456789ab",
                        "measure_id": None,
                        "milestone_id": None,
                        "ref": "1.3",
                        "title": "Recruit three additional SEND casework coordinators",
                        "owner_id": "5a0d8c1e-7b2f-4e61-9c3a-0f4e2b7d9a10",
                        "owner_name": "Priya Raman",
                        "detail": "Due 2018-03-31, 183 days overdue.",
                    }
                ],
            }
        }
    )
    plan_id: uuid.UUID
    as_of: date
    thresholds: Thresholds
    counts: dict[str, int]
    items: list[Alert]
