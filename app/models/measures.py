"""Impact: measures with a baseline, a target and a trajectory, their observations, and the money."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKeyConstraint, Index, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import Entity, Pence, enum_check, enum_column
from app.models.enums import Direction, Frequency, FundingKind, MeasureSource, MeasureUnit


class Measure(Entity, table=True):
    __tablename__ = "measure"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        UniqueConstraint("id", "plan_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["carried_from_id", "partnership_id"], ["measure.id", "measure.partnership_id"]),
        UniqueConstraint("carried_from_id"),
        enum_check("unit", MeasureUnit),
        enum_check("direction", Direction),
        enum_check("source", MeasureSource),
        enum_check("frequency", Frequency),
        CheckConstraint("target_on > baseline_on", name="target_after_baseline"),
        CheckConstraint("tolerance >= 0", name="tolerance_not_negative"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    name: str = Field(sa_type=String(300), nullable=False)
    definition: str | None = Field(default=None, sa_type=Text)
    unit: str = Field(sa_type=enum_column(MeasureUnit), nullable=False)
    direction: str = Field(sa_type=enum_column(Direction), nullable=False)
    baseline_value: float = Field(sa_type=Float, nullable=False)
    baseline_on: date
    target_value: float = Field(sa_type=Float, nullable=False)
    target_on: date
    tolerance: float = Field(default=0.0, sa_type=Float, nullable=False)
    source: str = Field(default=MeasureSource.manual.value, sa_type=enum_column(MeasureSource), nullable=False)
    frequency: str = Field(default=Frequency.monthly.value, sa_type=enum_column(Frequency), nullable=False)
    trajectory: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    carried_from_id: uuid.UUID | None = None  # the predecessor plan's measure whose history this one continues


class MeasureConcern(SQLModel, table=True):
    """A measure evidences impact on one or more concerns of its own plan."""

    __tablename__ = "measure_concern"
    __table_args__ = (
        PrimaryKeyConstraint("measure_id", "concern_id"),
        ForeignKeyConstraint(["measure_id", "plan_id"], ["measure.id", "measure.plan_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["concern_id", "plan_id"], ["concern.id", "concern.plan_id"]),
        Index(None, "concern_id"),
    )

    measure_id: uuid.UUID
    concern_id: uuid.UUID
    plan_id: uuid.UUID = Field(nullable=False)


class Observation(Entity, table=True):
    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint("measure_id", "period_start_on", "period_end_on"),
        ForeignKeyConstraint(["measure_id", "partnership_id"], ["measure.id", "measure.partnership_id"], ondelete="CASCADE"),
        CheckConstraint("period_end_on >= period_start_on", name="period_in_order"),
        CheckConstraint("denominator IS NULL OR denominator >= 0", name="denominator_not_negative"),
        CheckConstraint("numerator IS NULL OR numerator >= 0", name="numerator_not_negative"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "measure_id", "period_end_on"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    measure_id: uuid.UUID = Field(nullable=False)
    period_start_on: date
    period_end_on: date
    value: float = Field(sa_type=Float, nullable=False)
    numerator: int | None = None
    denominator: int | None = None
    provisional: bool = Field(default=False, nullable=False)


class FundingLine(Entity, table=True):
    """An allocation or a spend in a UK financial year (April to March), optionally against one action."""

    __tablename__ = "funding_line"
    __table_args__ = (
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["action_id", "plan_id"], ["action.id", "action.plan_id"]),
        enum_check("kind", FundingKind),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "financial_year"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID | None = Field(default=None, index=True)
    financial_year: str = Field(sa_type=String(7), nullable=False)
    amount: Decimal = Field(sa_type=Pence, nullable=False)
    purpose: str = Field(sa_type=String(500), nullable=False)
    kind: str = Field(sa_type=enum_column(FundingKind), nullable=False)
