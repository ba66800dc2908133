"""Response models of the progress reports."""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import AlertKind, Severity


class ActionCounts(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="Every action status, with zeros.")
    by_rag: dict[str, int] = Field(description="Derived RAG (red, amber, green, blue) on the summary's date.")


class ConcernSummary(BaseModel):
    id: uuid.UUID
    ref: str
    title: str
    judgement: str
    rag: str | None = Field(description="Delivery RAG: the worst RAG of the concern's open actions; blue when all are completed.")
    actions: ActionCounts


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


class PlanSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "as_of": "2018-09-30",
                "plan_status": "in_delivery",
                "actions": {
                    "total": 25,
                    "by_status": {"not_started": 1, "in_progress": 14, "completed": 10, "suspended": 0, "cancelled": 0},
                    "by_rag": {"red": 3, "amber": 6, "green": 6, "blue": 10},
                },
                "concerns": [],
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
    plan_status: str | None = Field(description="The plan's status on that date (null if it did not exist yet).")
    actions: ActionCounts
    concerns: list[ConcernSummary]
    measures: Measures
    funding: Funding


class HistoryPoint(BaseModel):
    as_of: date = Field(description="The last day of the period (or `to`).")
    plan_status: str | None
    actions: ActionCounts
    measures_by_status: dict[str, int]


class PlanHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "granularity": "month",
                "points": [
                    {
                        "as_of": "2018-01-31",
                        "plan_status": "in_delivery",
                        "actions": {
                            "total": 25,
                            "by_status": {"not_started": 4, "in_progress": 17, "completed": 4, "suspended": 0, "cancelled": 0},
                            "by_rag": {"red": 1, "amber": 5, "green": 15, "blue": 4},
                        },
                        "measures_by_status": {"on_track": 0, "behind": 1, "off_track": 0, "no_data": 0},
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
    ref: str | None = Field(description="The action's reference, when the alert is about an action or its milestone.")
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
