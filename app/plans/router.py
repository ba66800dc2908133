"""Routes of the plan's collections."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import bindparam, select
from sqlmodel import col
from starlette.responses import Response

from app.core import crud
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import NotFound, problems
from app.core.http import json_response
from app.core.permissions import PLAN_EDITORS, READERS, REPORTERS, allow, documented, roles_text
from app.core.reads import SqlAlchemyReads
from app.core.routing import JsonBody, add_resource_routes, api_router, created_response, ok, read_one
from app.models import ActionReprogramme
from app.plans import resources as r
from app.plans import schemas as s
from app.plans import succession

router = api_router()
for resource in (r.inspections, r.plans, r.concerns, r.actions, r.milestones, r.progress_updates):
    add_resource_routes(router, resource)


@router.post(
    "/actions/{id}/progress-updates",
    summary="Report progress on an action",
    description="Appends a progress update to the action (the same as `POST /progress-updates` with `action_id`). "
    "`author_id` defaults to the person linked to the caller's key; a contributor reports on actions it owns or "
    "contributes to, as itself." + roles_text(REPORTERS),
    operation_id="actions-progress-updates-create",
    tags=["progress updates"],
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={201: ok(s.ProgressUpdateRead, "The new progress update."), **problems(400, 404, 415)},
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"example": {k: v for k, v in r.progress_updates.create_example.items() if k != "action_id"}}}
        },
        **documented(REPORTERS),
    },
)
async def create_action_progress(
    request: Request,
    id: uuid.UUID,
    data: s.ActionProgressCreate,
    session: SessionDep,
    db: DatabaseDep,
    actor: Annotated[Actor, Depends(allow(REPORTERS))],
) -> Response:
    body = s.ProgressUpdateCreate(action_id=id, **data.model_dump())
    row = await crud.create(session, actor=actor, res=r.progress_updates, data=body, missing_parent=NotFound)
    # The stored row is the whole representation: no read-back (a test compares it with GET).
    return created_response(request, r.progress_updates, {k: row[k] for k in s.ProgressUpdateRead.model_fields})


@router.get(
    "/actions/{id}/reprogrammes",
    summary="List an action's reprogrammes",
    description="Every move of the action's due date after its plan was accepted, oldest first: from when to when, the "
    "frozen baseline at the time, who moved it and why. Append-only." + roles_text(READERS),
    operation_id="actions-reprogrammes-list",
    tags=["actions"],
    response_class=Response,
    responses={200: ok(s.ReprogrammePage, "The action's reprogrammes."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def list_reprogrammes(
    id: uuid.UUID, _: Annotated[s.ReprogrammeQuery, Query()], db: DatabaseDep, actor: Annotated[Actor, Depends(allow(READERS))]
) -> Response:
    await read_one(db, actor, r.actions, id)  # 404 for an unknown or invisible action
    async with db.read() as reads:
        rows = await reads.rows(REPROGRAMMES, {"action_id": id}, cache_key="reprogrammes")
    return json_response({"items": rows, "next_cursor": None})


REPROGRAMMES = (
    select(*(c for c in ActionReprogramme.__table__.c if c.name != "partnership_id"))  # type: ignore[attr-defined]
    .where(col(ActionReprogramme.action_id) == bindparam("action_id"))
    .order_by(col(ActionReprogramme.created_at), col(ActionReprogramme.id))
)


@router.post(
    "/plans/{id}/successor",
    summary="Start the plan's successor",
    description="Starts the next plan (a priority action plan after a revisit, an accelerated progress plan, a refreshed "
    "WSoA) as a draft answering the same inspection or the one named, carrying the open actions chosen (with their "
    "contributors, organisations and pending milestones), the measures chosen (with their whole history) and the concerns "
    "those answer or evidence. Each carried action and measure names what it was carried from (`carried_from_id`); the new "
    "plan names its `predecessor_id` and the old one its `successor_id`. The old plan becomes `superseded`: read-only "
    "history, where every later write is a 409 `/problems/plan-superseded` (its actions keep their updates, evidence and "
    "reprogrammes; packs and share links can still be made); its open reporting periods close. A plan already marked "
    "superseded without a successor can still be given one. A submitted or closed plan cannot be superseded (409 `/problems/illegal-transition`); a plan has one "
    "successor (409 `/problems/already-succeeded`). `concern_kind` is given only to carried concerns whose kind the new "
    "plan cannot hold. All or nothing, every row audited." + roles_text(PLAN_EDITORS),
    operation_id="plans-successor-create",
    tags=["plans"],
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={201: ok(s.PlanRead, "The new plan."), **problems(400, 404, 409, 415, 422)},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": s.SUCCESSOR_EXAMPLE}}}, **documented(PLAN_EDITORS)},
)
async def create_successor(
    request: Request,
    id: uuid.UUID,
    data: s.SuccessorCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow(PLAN_EDITORS))],
) -> Response:
    created = await succession.succeed(session, actor=actor, plan_id=id, body=data)
    await session.flush()
    assert r.plans.reader is not None
    row = await r.plans.reader.get(SqlAlchemyReads(await session.connection()), actor, created["id"])
    assert row is not None
    return created_response(request, r.plans, row)
