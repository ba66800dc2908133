"""`GET /audit-events`: the append-only trail, in commit order. Nothing edits or deletes it."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.audit import service
from app.core import audit
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import problems
from app.core.http import json_response
from app.core.permissions import PLAN_EDITORS, allow, documented, roles_text
from app.core.routing import api_router, next_link, ok
from app.core.schemas import MAX_BIGINT, QueryParams

router = api_router()

EXAMPLE: dict[str, Any] = {
    "seq": 4182,
    "occurred_at": "2026-11-28T14:03:11.204518Z",
    "actor_type": "api_key",
    "actor_id": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1aa",
    "person_id": "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b",
    "request_id": "5a5ac61a1de94ae49816cbaff503dd22",
    "action": "update",
    "entity_type": "action",
    "entity_id": "c0ffee00-1234-4abc-8def-0123456789ab",
    "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
    "changes": {"forecast_on": ["2026-12-31", "2027-02-28"]},
    "prev_hash": "9f2c…",
    "hash": "5be1…",
    "hash_format": 2,
}


class AuditEventRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": EXAMPLE})
    seq: int = Field(description="Position in the chain: strictly increasing in commit order, with no gaps.")
    occurred_at: datetime
    actor_type: str = Field(description="`api_key`, `oidc` or `system`.")
    actor_id: str = Field(description="The key's id or the token's subject.")
    person_id: uuid.UUID | None
    request_id: str | None
    action: str = Field(description="`create`, `update`, `delete`, `export`, `share_access` or `sync`.")
    entity_type: str
    entity_id: uuid.UUID
    partnership_id: uuid.UUID | None
    changes: dict[str, Any] = Field(description="`{field: [old, new]}`.")
    prev_hash: str
    hash: str = Field(
        description="Format 2: SHA-256 of `prev_hash:seq:occurred_at:content_hash`, where `content_hash` is SHA-256 of the canonical "
        "JSON (sorted keys) of actor_type, actor_id, person_id, request_id, action, entity_type, entity_id, partnership_id and "
        "changes. Format 1 (older events): SHA-256 of the canonical JSON of every field with `prev_hash`."
    )
    hash_format: int = Field(description="How `hash` is computed: 1 or 2.")


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None


class AuditQuery(QueryParams):
    limit: int = Field(50, ge=1, le=200)
    after_seq: int | None = Field(None, ge=0, le=MAX_BIGINT, description="Events after this seq (the page cursor).")
    cursor: str | None = Field(None, pattern=r"^\d{1,18}$", description="`next_cursor` of the previous page (same as `after_seq`).")
    entity_type: str | None = Field(None, max_length=40)
    entity_id: uuid.UUID | None = None
    actor_id: str | None = Field(None, max_length=100)
    action: str | None = Field(None, max_length=20)


@router.get(
    "/audit-events",
    summary="Read the audit trail",
    description="Every write, export and share access, and every read of personal data (`action` `read`: a person's "
    "contact details, a file of evidence held locally, a board pack), as an event in commit order, each chained to the one before by "
    "SHA-256. Filter by `entity_type`, `entity_id`, `actor_id`, `action`; page with `after_seq` (or `cursor`)." + roles_text(PLAN_EDITORS),
    tags=["audit"],
    operation_id="audit-events-list",
    response_class=Response,
    responses={200: ok(AuditEventPage, "A page of events."), **problems(400)},
    openapi_extra=documented(PLAN_EDITORS),
)
async def list_audit_events(
    request: Request,
    query: Annotated[AuditQuery, Query()],
    db: DatabaseDep,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow(PLAN_EDITORS))],
) -> Response:
    after = int(query.cursor) if query.cursor is not None else query.after_seq
    filters = query.model_dump(include={"entity_type", "entity_id", "actor_id", "action"})
    async with db.read() as reads:
        rows = await service.list_events(reads, actor, limit=query.limit, after_seq=after, filters=filters)
    items = rows[: query.limit]
    headers: dict[str, str] = {}
    next_cursor = None
    if len(rows) > query.limit:
        next_cursor = str(items[-1]["seq"])
        headers["Link"] = next_link(request, drop=("after_seq",), cursor=next_cursor)
    # A person's recorded change of e-mail shows their contact details: reading it is a read like GET /people/{id}.
    shown = {
        (str(e["entity_id"]), str(e["partnership_id"])) for e in items if e["entity_type"] == "person" and (e["changes"] or {}).get("email")
    }
    people: list[tuple[uuid.UUID, uuid.UUID | None]] = [(uuid.UUID(p), uuid.UUID(q)) for p, q in sorted(shown)]
    audit.record_reads(session, actor=actor, entity_type="person", reads=people, what="contact details")
    return json_response({"items": items, "next_cursor": next_cursor}, headers=headers)
