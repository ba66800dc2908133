"""Routes of a plan's progress reports: summary (as of any date), history and alerts."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Literal, Self

from fastapi import Depends, Query
from pydantic import Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.cases.timeliness import periods
from app.core.auth import Actor
from app.core.db import Database, DatabaseDep
from app.core.errors import FieldError, Unprocessable, problems
from app.core.http import json_response
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.routing import api_router, ok, read_one
from app.core.schemas import QueryParams, plan_date
from app.models import utcnow
from app.partnerships.service import Local, local
from app.plans import resources as r
from app.progress import schemas as s
from app.progress.alerts import plan_alerts
from app.progress.state import Row, current_state, moment_of, state_at, states_at
from app.progress.summary import summarise

router = api_router()
Reader = Annotated[Actor, Depends(allow(READERS))]


@asynccontextmanager
async def plan_report(db: Database, actor: Actor, plan_id: uuid.UUID) -> AsyncIterator[tuple[Row, Local, AsyncSession]]:
    """The visible plan (404 otherwise), its partnership's clock and thresholds, and a read-only session."""
    plan = await read_one(db, actor, r.plans, plan_id)
    async with db.read_session() as session:
        area = await local(session, plan["partnership_id"])
        assert area is not None  # the plan's partnership exists
        yield plan, area, session


class SummaryQuery(QueryParams):
    as_of: date | None = Field(None, description="Reconstruct the plan as recorded at the end of this day (default: today).")

    _in_range = field_validator("as_of")(plan_date)


@router.get(
    "/plans/{id}/summary",
    summary="Summarise a plan, now or as it stood on a date",
    description="Counts of actions by status, derived RAG (against each agreed `due_on`) and baseline RAG (against the due "
    "date frozen at acceptance, so moved dates do not hide slippage), overall and per concern (with the concern's delivery "
    "RAG: the worst RAG of its open actions), measures by status against their trajectories, and funding allocated, spent "
    "and remaining per financial year. The plan is rebuilt from the audit trail as it was recorded at `recorded_at`: the end "
    "of `as_of` in the partnership's time zone, or now for today; RAG and measure status are derived with that day as "
    "today. `off_course` lists every action red or amber against its due date or its baseline, or suspended or cancelled, "
    "with its variance, latest reprogramme and the reason recorded. `GET /plans/{id}/history` and the packs compute the "
    "same figures for the same moment." + roles_text(READERS),
    tags=["progress"],
    operation_id="plans-summary-get",
    response_class=Response,
    responses={200: ok(s.PlanSummary, "The summary."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def get_summary(id: uuid.UUID, query: Annotated[SummaryQuery, Query()], db: DatabaseDep, actor: Reader) -> Response:
    async with plan_report(db, actor, id) as (plan, area, session):
        as_of = query.as_of or area.today
        if as_of > area.today:
            raise Unprocessable("The future has not been recorded yet.", errors=[FieldError(pointer="/as_of", message="after today")])
        at = moment_of(as_of, area.timezone, utcnow())
        state = await state_at(session, plan_id=id, partnership_id=plan["partnership_id"], at=at)
    return json_response(summarise(state, plan_id=str(id), as_of=as_of, recorded_at=at, red_after_days=area.red_after_days))


class HistoryQuery(QueryParams):
    from_on: date = Field(alias="from", description="First day.")
    to: date | None = Field(None, description="Last day (default and at most: today).")
    granularity: Literal["month", "quarter"] = "month"

    _in_range = field_validator("from_on", "to")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.to is not None and self.from_on > self.to:
            raise ValueError("from must not be after to")
        return self


@router.get(
    "/plans/{id}/history",
    summary="A plan's summary counts over time",
    description="The summary's counts at the end of each calendar month or quarter from `from` to `to` (the last point "
    "is `to` itself, as recorded now when it is today), each rebuilt from the audit trail as recorded at `recorded_at`: "
    "actions by status, derived RAG, baseline RAG and how many were reprogrammed; measures by status and each measure's "
    "latest value. The same computation as the summary and the packs. At most 120 points." + roles_text(READERS),
    tags=["progress"],
    operation_id="plans-history-get",
    response_class=Response,
    responses={200: ok(s.PlanHistory, "The time series."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def get_history(id: uuid.UUID, query: Annotated[HistoryQuery, Query()], db: DatabaseDep, actor: Reader) -> Response:
    async with plan_report(db, actor, id) as (plan, area, session):
        end = min(query.to or area.today, area.today)
        if query.from_on > end:
            raise Unprocessable("from is after today.", errors=[FieldError(pointer="/from", message="after today")])
        days = [e for _, e in periods(query.from_on, end, query.granularity)]
        if len(days) > 120:
            raise Unprocessable("At most 120 points per request.", errors=[FieldError(pointer="/from", message="range too long")])
        now = utcnow()
        cutoffs = [moment_of(d, area.timezone, now) for d in days]
        found = await states_at(session, plan_id=id, partnership_id=plan["partnership_id"], cutoffs=cutoffs)
    points = []
    for day, (at, state) in zip(sorted(days, reverse=True), found, strict=True):
        summary = summarise(state, plan_id=str(id), as_of=day, recorded_at=at, red_after_days=area.red_after_days)
        points.append(
            {
                "as_of": day,
                "recorded_at": at,
                "plan_status": summary["plan_status"],
                "actions": summary["actions"],
                "measures_by_status": summary["measures"]["by_status"],
                "measures": [
                    {k: m[k] for k in ("id", "name", "latest_value", "latest_period_end_on", "status")}
                    for m in summary["measures"]["items"]
                ],
            }
        )
    return json_response({"plan_id": id, "granularity": query.granularity, "points": points[::-1]})


@router.get(
    "/plans/{id}/alerts",
    summary="Early warnings on a plan",
    description="One item per problem, worst first: `overdue`, `slipping`, `not_started_late`, `stale` (no progress update "
    "for the partnership's `stale_after_days`, default 30), `owner_inactive`, `measure_behind`, "
    "`completed_without_evidence`, `milestone_missed`, `behind_baseline` (worse against the baseline frozen at acceptance "
    "than against the moved due date: a reprogramme does not hide slippage), `reported_worse` (the owner reports a worse RAG "
    "than the dates give); `stale` only once an action has started or passed its planned start; each with `action_id`/`measure_id`/`milestone_id`, `severity` "
    "(`high` beyond the partnership's `red_after_days` or twice the stale threshold, for a leaver, an off-track measure "
    "or completion without accepted evidence) and `detail`. The partnership's admin sets both thresholds on "
    "`/partnerships/{id}`." + roles_text(READERS),
    tags=["progress"],
    operation_id="plans-alerts-get",
    response_class=Response,
    responses={200: ok(s.PlanAlerts, "The alerts."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def get_alerts(id: uuid.UUID, db: DatabaseDep, actor: Reader) -> Response:
    async with plan_report(db, actor, id) as (_, area, session):
        items = await plan_alerts(session, plan_id=id, state=await current_state(session, id), area=area)
    counts = Counter(a["kind"] for a in items)
    return json_response(
        {
            "plan_id": id,
            "as_of": area.today,
            "thresholds": {"stale_after_days": area.stale_after_days, "red_after_days": area.red_after_days},
            "counts": dict(sorted(counts.items())),
            "items": items,
        }
    )
