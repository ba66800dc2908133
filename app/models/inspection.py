"""The inspection that found the weaknesses, and the plan written in answer."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlmodel import Field

from app.models.base import Entity, enum_check, enum_column
from app.models.enums import Framework, InspectionKind, PlanKind, PlanStatus


class Inspection(Entity, table=True):
    __tablename__ = "inspection"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        enum_check("framework", Framework),
        enum_check("kind", InspectionKind),
        CheckConstraint("onsite_end_on IS NULL OR onsite_start_on IS NULL OR onsite_end_on >= onsite_start_on", name="onsite_dates"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    framework: str = Field(sa_type=enum_column(Framework), nullable=False)
    kind: str = Field(sa_type=enum_column(InspectionKind), nullable=False)
    inspectorates: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    onsite_start_on: date | None = None
    onsite_end_on: date | None = None
    report_published_on: date | None = None
    outcome: str | None = Field(default=None, sa_type=Text)
    report_url: str | None = Field(default=None, sa_type=String(2000))


class Plan(Entity, table=True):
    __tablename__ = "plan"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["inspection_id", "partnership_id"], ["inspection.id", "inspection.partnership_id"]),
        ForeignKeyConstraint(["senior_responsible_officer_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        ForeignKeyConstraint(["predecessor_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        UniqueConstraint("predecessor_id"),
        enum_check("kind", PlanKind),
        enum_check("status", PlanStatus),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    inspection_id: uuid.UUID | None = Field(default=None, index=True)
    kind: str = Field(sa_type=enum_column(PlanKind), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    status: str = Field(default=PlanStatus.draft.value, sa_type=enum_column(PlanStatus), nullable=False)
    submission_due_on: date | None = None
    submitted_on: date | None = None
    accepted_on: date | None = None
    revisit_due_on: date | None = None
    evidence_required_for_completion: bool = Field(default=True, nullable=False, sa_column_kwargs={"server_default": sa_true()})
    governance: str | None = Field(default=None, sa_type=Text)
    # The person a missed return is escalated to (with the partnership's leads).
    senior_responsible_officer_id: uuid.UUID | None = Field(default=None, index=True)
    # When periods open and returns fall due (`app.reporting.schedule.Schedule`); none: periods are opened by a lead.
    reporting_schedule: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    predecessor_id: uuid.UUID | None = None  # the plan this one succeeded (`POST /plans/{id}/successor`)
