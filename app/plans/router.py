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
from app.core.permissions import READERS, REPORTERS, allow, documented, roles_text
from app.core.routing import JsonBody, add_resource_routes, api_router, created_response, ok, read_one
from app.models import ActionReprogramme
from app.plans import resources as r
from app.plans import schemas as s

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
