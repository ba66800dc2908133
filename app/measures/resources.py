"""Measures of impact, their observations, and the plan's funding."""

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.core.permissions import PLAN_EDITORS, Access
from app.core.resources import Link, Ref, Resource, Unique
from app.measures import schemas as s
from app.measures.reads import FundingReader, MeasureReader
from app.measures.service import FundingRules, MeasureRules, ObservationRules
from app.models import Action, Concern, FundingLine, Measure, MeasureConcern, Observation, Plan

EDITED_BY_LEADS = Access(create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS)


def _concern_filter(value: Any) -> Any:
    return col(Measure.id).in_(select(col(MeasureConcern.measure_id)).where(col(MeasureConcern.concern_id) == value))


measures = Resource(
    path="measures",
    entity="measure",
    tag="measures",
    table=Measure,
    create=s.MeasureCreate,
    update=s.MeasureUpdate,
    read=s.MeasureRead,
    query=s.MeasureQuery,
    access=EDITED_BY_LEADS,
    parents=(Ref("plan_id", Plan, "plan"),),
    links=(Link("concern_ids", MeasureConcern, "concern_id", Concern, "concern", same_plan=True, owner="measure_id"),),
    filters={"concern_id": _concern_filter},
    rules=MeasureRules(),
    reader=None,
    description="How the partnership will know its actions made a difference: a baseline, a target by a date, a trajectory "
    "between them, and observations over time. " + s.STATUS_RULES,
    create_example=s.MEASURE_EXAMPLE,
    update_example={"tolerance": 3.0},
)
measures.reader = MeasureReader(measures)

observations = Resource(
    path="observations",
    entity="observation",
    tag="measures",
    table=Observation,
    create=s.ObservationCreate,
    update=s.ObservationUpdate,
    read=s.ObservationRead,
    query=s.ObservationQuery,
    access=EDITED_BY_LEADS,
    parents=(Ref("measure_id", Measure, "measure"),),
    rules=ObservationRules(),
    unique=(Unique("period_start_on", ("measure_id", "period_end_on")),),
    filters={
        "period_end_before": lambda v: col(Observation.period_end_on) < v,
        "period_end_after": lambda v: col(Observation.period_end_on) > v,
    },
    description="One value of a measure for one period (for example a month), with its numerator and denominator where it is "
    "a rate. One observation per measure and period (409 for a second). Observations of an `ehcp_timeliness` measure are "
    "computed from the case events and cannot be written (409 `/problems/computed-measure`).",
    create_example=s.OBSERVATION_EXAMPLE,
    update_example={"value": 67.0, "numerator": 67, "provisional": False},
)

funding_lines = Resource(
    path="funding-lines",
    entity="funding_line",
    tag="funding",
    table=FundingLine,
    create=s.FundingLineCreate,
    update=s.FundingLineUpdate,
    read=s.FundingLineRead,
    query=s.FundingLineQuery,
    access=EDITED_BY_LEADS,
    parents=(Ref("plan_id", Plan, "plan"),),
    refs=(Ref("action_id", Action, "action"),),
    rules=FundingRules(),
    reader=None,
    description="Money for the plan: allocations and spend per UK financial year (April to March), optionally against an "
    "action. Amounts are decimal strings in GBP with two places, summed exactly.",
    create_example=s.FUNDING_EXAMPLE,
    update_example={"amount": "377800.00"},
)
funding_lines.reader = FundingReader(funding_lines)
