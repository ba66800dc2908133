"""Routes of the reporting cycle: periods and their status, returns (filed and reviewed), notifications."""

import uuid
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import bindparam, case, select
from sqlmodel import col
from starlette.responses import Response

from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import problems
from app.core.http import entity_response, json_response
from app.core.permissions import PLAN_EDITORS, READERS, REPORTERS, Access, allow, documented, roles_text
from app.core.resources import Ref, Resource
from app.core.routing import JsonBody, add_resource_routes, api_router, ok, read_one
from app.models import Action, ActionReturn, Notification, Person, Plan, ReportingPeriod
from app.models.enums import ReturnStatus
from app.reporting import schemas as s
from app.reporting import service

PLAN = Ref("plan_id", Plan, "plan")

periods = Resource(
    path="reporting-periods",
    entity="reporting_period",
    tag="reporting",
    table=ReportingPeriod,
    create=s.PeriodCreate,
    update=s.PeriodUpdate,
    state=s.PeriodState,
    read=s.PeriodRead,
    query=s.PeriodQuery,
    parents=(PLAN,),
    unique=(),
    operations=frozenset({"list", "get", "create", "update"}),
    access=Access(create=PLAN_EDITORS, update=PLAN_EDITORS),
    rules=service.PeriodRules(),
    description="A month of delivery reported on at one Delivery Group meeting. Opening one (by a lead here, or by "
    "`wsoa worker` on the first of each month for a plan with a `reporting_schedule`) expects one return from the owner of "
    "every live action (not completed, suspended or cancelled). Dates left out come from the plan's schedule: the returns "
    "fall due a set number of working days before the next month's meeting, or on a set day of it. A plan not yet accepted "
    "has no periods (409); periods of a plan run forward and never overlap (409); a closed period stays closed and takes no "
    "more returns.",
    create_example={"plan_id": s.PLAN_ID, "starts_on": "2026-11-01"},
    update_example={"status": "closed"},
)

returns = Resource(
    path="returns",
    entity="action_return",
    tag="reporting",
    table=ActionReturn,
    create=s.ReturnSubmission,
    update=None,
    read=s.ReturnRead,
    query=s.ReturnQuery,
    operations=frozenset({"list", "get"}),
    description="What each action's owner reports for a period: `expected` until filed (then `submitted`), `accepted` or "
    "`returned` (for more) by a lead, `missed` when still unfiled after `returns_due_on` (a fact that stays on record, "
    "`missed_at`, even when the return is filed late). Filing appends the progress update it stands for.",
)

notifications = Resource(
    path="notifications",
    entity="notification",
    tag="reporting",
    table=Notification,
    create=s.NotificationRead,
    update=None,
    read=s.NotificationRead,
    query=s.NotificationQuery,
    operations=frozenset({"list", "get"}),
    access=Access(read=PLAN_EDITORS),
    hidden=frozenset({"dedupe_key", "next_attempt_at"}),
    description="Every e-mail the reporting cycle sends (reminders, escalations, returns sent back): to whom, why, when, "
    "and whether it was delivered.",
)

router = api_router()
for resource in (periods, returns, notifications):
    add_resource_routes(router, resource)

Lead = Annotated[Actor, Depends(allow(PLAN_EDITORS))]
Reporter = Annotated[Actor, Depends(allow(REPORTERS))]
Reader = Annotated[Actor, Depends(allow(READERS))]


@router.post(
    "/returns/{id}/submission",
    summary="File a return",
    description="The owner's return for the period: proposed RAG, what happened, blockers, next steps and perhaps a new "
    "forecast date. It is appended to the action's progress updates, and the return becomes `submitted`. An `expected`, "
    "`returned` or `missed` return may be filed (a missed one stays marked as missed); another is a 409 "
    "`/problems/return-state`. A contributor files returns of actions it owns or contributes to." + roles_text(REPORTERS),
    operation_id="returns-submission-create",
    tags=["reporting"],
    response_class=Response,
    dependencies=[JsonBody],
    responses={200: ok(s.ReturnRead, "The filed return."), **problems(404, 409, 415)},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": s.ReturnSubmission.model_config["json_schema_extra"]["example"]}}},  # type: ignore[index]
        **documented(REPORTERS),
    },
)
async def submit_return(id: uuid.UUID, body: s.ReturnSubmission, session: SessionDep, db: DatabaseDep, actor: Reporter) -> Response:
    await service.submit(session, actor, id, body)
    return entity_response(await read_one(db, actor, returns, id))


@router.post(
    "/returns/{id}/review",
    summary="Accept or return a return",
    description="A lead accepts a `submitted` return with the RAG the programme agrees for the period (`agreed_rag`, which "
    "summaries and packs report beside the derived RAGs), moving the action's forecast to the one proposed unless "
    "`accept_forecast` is false; or returns it to its owner for more, saying why (`review_note`)." + roles_text(PLAN_EDITORS),
    operation_id="returns-review-create",
    tags=["reporting"],
    response_class=Response,
    dependencies=[JsonBody],
    responses={200: ok(s.ReturnRead, "The reviewed return."), **problems(404, 409, 415)},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": s.ReturnReview.model_config["json_schema_extra"]["example"]}}},  # type: ignore[index]
        **documented(PLAN_EDITORS),
    },
)
async def review_return(id: uuid.UUID, body: s.ReturnReview, session: SessionDep, db: DatabaseDep, actor: Lead) -> Response:
    await service.review(session, actor, id, body)
    return entity_response(await read_one(db, actor, returns, id))


STATUS = (
    select(
        col(ActionReturn.id).label("return_id"),
        col(ActionReturn.action_id),
        col(Action.ref).label("action_ref"),
        col(Action.title).label("action_title"),
        col(ActionReturn.owner_id),
        col(Person.display_name).label("owner_name"),
        col(ActionReturn.status),
        case((col(ActionReturn.missed_at).is_(None), False), else_=True).label("missed"),
        col(ActionReturn.proposed_rag),
        col(ActionReturn.agreed_rag),
        col(ActionReturn.submitted_at),
    )
    .select_from(ActionReturn)
    .join(Action, col(Action.id) == col(ActionReturn.action_id))
    .outerjoin(Person, col(Person.id) == col(ActionReturn.owner_id))
    .where(col(ActionReturn.period_id) == bindparam("period_id"))
    .order_by(col(Action.ref), col(ActionReturn.id))
)


@router.get(
    "/reporting-periods/{id}/status",
    summary="A period's returns, action by action",
    description="The list a programme office works from: every expected return with its action, owner and state, and "
    "counts by state (`missed` counts returns still missing; a missed return filed late counts as filed, and is flagged "
    "`missed`)." + roles_text(READERS),
    operation_id="reporting-periods-status-get",
    tags=["reporting"],
    response_class=Response,
    responses={200: ok(s.PeriodStatusRead, "The period's returns."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def period_status(id: uuid.UUID, db: DatabaseDep, actor: Reader) -> Response:
    period = await read_one(db, actor, periods, id)
    async with db.read() as reads:
        rows: list[dict[str, Any]] = await reads.rows(STATUS, {"period_id": id}, cache_key="period-status")
    counts = {state.value: sum(1 for r in rows if r["status"] == state.value) for state in ReturnStatus}
    return json_response({"period": period, "counts": {**counts, "total": len(rows)}, "actions": rows})
