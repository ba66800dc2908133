"""Routes of the plan's collections."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from app.core import crud
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import problems
from app.core.permissions import REPORTERS, allow, documented, roles_text
from app.core.routing import API_PREFIX, JsonBody, add_resource_routes, created_response, ok, read_one
from app.plans import resources as r
from app.plans import schemas as s

router = APIRouter(prefix=API_PREFIX)
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
    await read_one(db, actor, r.actions, id)  # 404 for an unknown or invisible action
    body = s.ProgressUpdateCreate(action_id=id, **data.model_dump())
    entity_id = await crud.create(session, actor=actor, res=r.progress_updates, data=body)
    return created_response(request, r.progress_updates, await read_one(db, actor, r.progress_updates, entity_id))
