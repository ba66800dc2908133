"""`GET /changes`: what changed, in commit order, for systems that poll instead of taking webhooks."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, bindparam, select
from sqlmodel import col
from starlette.responses import Response

from app.core.auth import Actor
from app.core.db import DatabaseDep
from app.core.errors import problems
from app.core.http import json_response
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.resources import read_roles
from app.core.routing import api_router, next_link, ok
from app.core.schemas import QueryParams
from app.models import Change

router = api_router()
COLUMNS = [c for c in Change.__table__.columns]  # type: ignore[attr-defined]


class ChangeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "seq": 1042, "occurred_at": "2026-11-28T14:03:11.204518Z", "entity_type": "action",
                "entity_id": "c0ffee00-1234-4abc-8def-0123456789ab", "action": "update", "version": 4,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11", "plan_id": "5d0c2a61-8f3e-4b7a-9c1d-2e3f4a5b6c7d",
                "event_type": "action.updated",
            }
        }
    )  # fmt: skip
    seq: int = Field(description="Position in commit order; also the cursor.")
    occurred_at: datetime
    entity_type: str
    entity_id: uuid.UUID
    action: str = Field(description="`create`, `update` or `delete`.")
    version: int | None = Field(description="The resource's version after the change (before it, for a delete).")
    partnership_id: uuid.UUID | None
    plan_id: uuid.UUID | None = Field(description="The plan the resource belongs to, where it belongs to one.")
    event_type: str | None = Field(description="The webhook event type of the change (`action.updated`, `person.left`).")


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_cursor: str | None


class ChangeQuery(QueryParams):
    after: str | None = Field(
        None, pattern=r"^\d{1,18}$", description="The `next_cursor` (or last `seq`) you have seen; omit to start at the beginning."
    )
    limit: int = Field(100, ge=1, le=1000)
    entity_type: str | None = Field(None, max_length=40)


def _statement(scoped: bool, typed: bool) -> Any:
    where: list[ColumnElement[bool]] = [col(Change.seq) > bindparam("after")]
    if scoped:
        where.append(col(Change.partnership_id) == bindparam("scope_id"))
    if typed:
        where.append(col(Change.entity_type) == bindparam("entity_type"))
    return select(*COLUMNS).where(*where).order_by(col(Change.seq)).limit(bindparam("limit"))


STATEMENTS = {(scoped, typed): _statement(scoped, typed) for scoped in (False, True) for typed in (False, True)}


@router.get(
    "/changes",
    summary="Poll for changes",
    description="Every committed change to a resource (entity type, id, action, version, time) in commit order. Ask "
    "again with `after` set to the `next_cursor` you got: you never miss a change and never see one twice, even while "
    "writers commit concurrently. An empty page keeps `next_cursor` at your position. Changes to resources your role "
    "may not read (API keys, webhook subscriptions; share links for inspectors and contributors) are left out; a "
    "page may then hold fewer items than `limit` while `next_cursor` moves past them." + roles_text(READERS),
    tags=["integrations"],
    operation_id="changes-list",
    response_class=Response,
    responses={200: ok(ChangePage, "Changes after the cursor."), **problems(400)},
    openapi_extra=documented(READERS),
)
async def list_changes(
    request: Request, query: Annotated[ChangeQuery, Query()], db: DatabaseDep, actor: Annotated[Actor, Depends(allow(READERS))]
) -> Response:
    after = int(query.after) if query.after is not None else 0
    scoped, typed = actor.partnership_id is not None, query.entity_type is not None
    params: dict[str, Any] = {"after": after, "limit": query.limit, "scope_id": actor.partnership_id, "entity_type": query.entity_type}
    async with db.read() as reads:
        items = await reads.rows(
            STATEMENTS[(scoped, typed)],
            {k: v for k, v in params.items() if v is not None or k == "after"},
            cache_key=("changes", scoped, typed),
        )
    cursor = str(items[-1]["seq"]) if items else str(after)  # past hidden changes too: none is ever fetched again
    headers = {"Link": next_link(request, after=cursor)} if items else {}
    # Resources some readers may not read: the feed does not show them their ids either (each resource's `access.read`).
    shown = [i for i in items if actor.role in read_roles(i["entity_type"])]
    return json_response({"items": shown, "next_cursor": cursor}, headers=headers)
