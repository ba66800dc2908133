"""Request and response models: measures, observations and funding lines."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LongText, Title, in_range, patch_model, plan_date, touched
from app.models.enums import Direction, Frequency, FundingKind, MeasureSource, MeasureStatus, MeasureUnit
from app.plans.schemas import CONCERN_ID, PARTNERSHIP_ID, PLAN_ID, STAMP

MEASURE_ID = "4d3c2b1a-0f9e-4d8c-b7a6-958473625140"
Value = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
STATUS_RULES = (
    "`status` compares the latest observation with the value expected at the end of its period (the trajectory: linear "
    "from baseline to target, or through the given points): `on_track` when it meets the expected value within "
    "`tolerance`; `off_track` when it is worse than the baseline or misses by more than twice the tolerance; `behind` "
    "otherwise; `no_data` when no observation's period ended within the last two reporting periods (`frequency`)."
)


class TrajectoryPoint(Body):
    on: date
    value: Value

    @field_validator("on")
    @classmethod
    def _on_in_range(cls, value: date, info: ValidationInfo) -> date:
        if touched(info, "trajectory"):  # a point is judged when the measure's trajectory is set
            in_range(value)
        return value


class MeasureCreate(Body):
    plan_id: uuid.UUID
    concern_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Concerns of the same plan this measure evidences."
    )
    name: Title
    definition: LongText | None = None
    unit: MeasureUnit
    direction: Direction
    baseline_value: Value
    baseline_on: date
    target_value: Value
    target_on: date
    tolerance: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)] = Field(
        0.0, description="How far short of the expected value still counts as on track."
    )
    source: MeasureSource = Field(
        MeasureSource.manual,
        description="`ehcp_timeliness`: observations are computed each month from the case events (percentage of EHC plans "
        "issued within 20 weeks excluding cases with an exception, for months the case events cover; see `computed_as`) and "
        "cannot be posted; the current month is provisional.",
    )
    frequency: Frequency = Frequency.monthly
    trajectory: list[TrajectoryPoint] = Field(
        default_factory=list, max_length=240, description="Optional intermediate points strictly between the baseline and target dates."
    )

    _dates = field_validator("baseline_on", "target_on")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.target_on <= self.baseline_on:
            raise ValueError("target_on must be after baseline_on")
        dates = [p.on for p in self.trajectory]
        if dates != sorted(set(dates)):
            raise ValueError("trajectory points must be in date order without repeats")
        if dates and (dates[0] <= self.baseline_on or dates[-1] >= self.target_on):
            raise ValueError("trajectory points must fall strictly between baseline_on and target_on")
        if self.unit == MeasureUnit.percent:
            values = [self.baseline_value, self.target_value, *(p.value for p in self.trajectory)]
            if any(not 0 <= v <= 100 for v in values):
                raise ValueError("percentages must be between 0 and 100")
        if self.source == MeasureSource.ehcp_timeliness and self.unit != MeasureUnit.percent:
            raise ValueError("an ehcp_timeliness measure is a percentage (unit: percent)")
        if len(set(self.concern_ids)) != len(self.concern_ids):
            raise ValueError("concern_ids must not repeat an id")
        return self


MEASURE_EXAMPLE: dict[str, Any] = {
    "plan_id": PLAN_ID,
    "concern_ids": [CONCERN_ID],
    "name": "New EHC plans issued within 20 weeks",
    "definition": "Plans issued in the month within 20 weeks of the request, excluding cases where an exception applies (SEN2).",
    "unit": "percent",
    "direction": "higher_is_better",
    "baseline_value": 11.0,
    "baseline_on": "2017-06-30",
    "target_value": 90.0,
    "target_on": "2018-11-30",
    "tolerance": 5.0,
    "source": "ehcp_timeliness",
    "frequency": "monthly",
    "trajectory": [{"on": "2018-03-31", "value": 60.0}],
}


class MeasureRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": MEASURE_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                **MEASURE_EXAMPLE,
                "latest_value": 66.0,
                "latest_period_end_on": "2018-09-30",
                "expected_value": 77.2,
                "status": "off_track",
                "computed_as": None,
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    concern_ids: list[uuid.UUID]
    name: str
    definition: str | None
    unit: MeasureUnit
    direction: Direction
    baseline_value: float
    baseline_on: date
    target_value: float
    target_on: date
    tolerance: float
    source: MeasureSource
    frequency: Frequency
    trajectory: list[TrajectoryPoint]
    carried_from_id: uuid.UUID | None = Field(
        None, description="The predecessor plan's measure whose history this one continues (copied with it), if any."
    )
    latest_value: float | None = Field(
        description="The value of the latest final observation (by period end): provisional figures, such as the current "
        "month of a computed measure, are listed under `/observations` but never the headline. The plan summary, history "
        "and packs use the same rule."
    )
    latest_period_end_on: date | None
    expected_value: float | None = Field(description="Expected at the end of the latest observation's period (today when there is none).")
    status: MeasureStatus = Field(description=STATUS_RULES)
    computed_as: str | None = Field(
        description="How the service computes the observations of a measure it computes (`source` `ehcp_timeliness`: the "
        "20-week measure excluding exceptions, from the case events); null for measures whose values are recorded."
    )


MeasureUpdate = patch_model("MeasureUpdate", MeasureCreate, exclude={"plan_id"})


class MeasureQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = Field(None, description="Measures evidencing this concern.")
    source: MeasureSource | None = None


MAX_PERIOD_DAYS = 366  # the longest reporting period (annual, in a leap year)


class ObservationCreate(Body):
    measure_id: uuid.UUID
    period_start_on: date
    period_end_on: date
    value: Value
    numerator: int | None = Field(None, ge=0, le=10**9)
    denominator: int | None = Field(None, ge=0, le=10**9)
    provisional: bool = Field(False, description="True while the period's figure may still change (for example the current month).")

    _dates = field_validator("period_start_on", "period_end_on")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period_end_on < self.period_start_on:
            raise ValueError("period_end_on must not be before period_start_on")
        if (self.period_end_on - self.period_start_on).days > MAX_PERIOD_DAYS:
            raise ValueError("a period is at most a year long (period_end_on)")
        if self.numerator is not None and self.denominator is not None and self.numerator > self.denominator:
            raise ValueError("numerator must not exceed denominator")
        return self


OBSERVATION_EXAMPLE: dict[str, Any] = {
    "measure_id": MEASURE_ID,
    "period_start_on": "2018-09-01",
    "period_end_on": "2018-09-30",
    "value": 66.0,
    "numerator": 66,
    "denominator": 100,
    "provisional": False,
}


class ObservationRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"id": "8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918", **STAMP, "partnership_id": PARTNERSHIP_ID, **OBSERVATION_EXAMPLE}
        }
    )
    partnership_id: uuid.UUID
    measure_id: uuid.UUID
    period_start_on: date
    period_end_on: date
    value: float
    numerator: int | None
    denominator: int | None
    provisional: bool


ObservationUpdate = patch_model("ObservationUpdate", ObservationCreate, exclude={"measure_id"})


class ObservationQuery(ListQuery):
    measure_id: uuid.UUID | None = None
    provisional: bool | None = None
    period_end_before: date | None = Field(None, description="Periods ending strictly before this date.")
    period_end_after: date | None = Field(None, description="Periods ending strictly after this date.")


# Funding -------------------------------------------------------------------------------------

FinancialYear = Annotated[str, StringConstraints(pattern=r"^(19|20)\d{2}/\d{2}$")]
Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2, description="GBP, a decimal string with two places."),
]


class FundingLineCreate(Body):
    plan_id: uuid.UUID
    financial_year: FinancialYear = Field(description='UK financial year, April to March, e.g. `"2018/19"`.')
    amount: Money
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    kind: FundingKind
    action_id: uuid.UUID | None = Field(None, description="The action of the same plan the money is for, if any.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        start, end = self.financial_year.split("/")
        if (int(start) + 1) % 100 != int(end):
            raise ValueError('financial_year must name consecutive years, e.g. "2018/19"')
        return self


FUNDING_EXAMPLE: dict[str, Any] = {
    "plan_id": PLAN_ID,
    "financial_year": "2018/19",
    "amount": "454000.00",
    "purpose": "Contingency for the SEND improvement programme: EHC coordinators and educational psychology capacity.",
    "kind": "allocation",
    "action_id": None,
}


class FundingLineRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"id": "2b1a0f9e-8d7c-4b6a-9584-736251403f2e", **STAMP, "partnership_id": PARTNERSHIP_ID, **FUNDING_EXAMPLE}
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    financial_year: str
    amount: str = Field(description="GBP, a decimal string with two places.", examples=["454000.00"])
    purpose: str
    kind: FundingKind
    action_id: uuid.UUID | None


FundingLineUpdate = patch_model("FundingLineUpdate", FundingLineCreate, exclude={"plan_id"})


class FundingLineQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    financial_year: FinancialYear | None = None
    kind: FundingKind | None = None
    action_id: uuid.UUID | None = None
