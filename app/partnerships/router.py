"""Routes of the partnership's collections."""

import csv
import io
import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from app.core.auth import Actor, resolve_partnership
from app.core.db import SessionDep
from app.core.errors import FieldError, MalformedRequest, Unprocessable, UnsupportedMediaType, problems, validation_errors
from app.core.http import json_response
from app.core.permissions import allow, documented, roles_text
from app.core.routing import add_resource_routes, api_router, ok
from app.models.enums import Role
from app.partnerships import resources as r
from app.partnerships.sync import MAX_ROWS, SYNC_EXAMPLE, SyncPerson, SyncRequest, SyncResult
from app.partnerships.sync import sync_people as sync

router = api_router()
for resource in (r.partnerships, r.organisations, r.people):
    add_resource_routes(router, resource)

HR_SYNC = frozenset({Role.admin, Role.hr_integration})
CSV_EXAMPLE = "external_id,display_name,email,job_title,organisation,active\nHR004217,Priya Raman,priya.raman@wessexvale.gov.example,Head of SEND Assessment,Wessex Vale Council,true\n"


@router.post(
    "/people/sync",
    summary="Sync people from the HR system",
    description="Upserts people by `external_id` within the partnership; `mode: full` also marks everyone missing from "
    "the feed as left (never deleted). Send JSON, or `text/csv` with a header row of the same field names (`mode` and "
    "`partnership_id` then go in the query string). Up to 10,000 rows; valid rows are applied even when others fail, and "
    "each failure names its row index. Organisations are matched by name and created when new. Re-sending the same feed "
    "changes nothing." + roles_text(HR_SYNC),
    tags=["people"],
    operation_id="people-sync-create",
    response_class=Response,
    responses={200: ok(SyncResult, "What the sync did."), **problems(400, 413, 415)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": SyncRequest.model_json_schema(),
                    "example": SYNC_EXAMPLE,
                },
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
            },
        },
        **documented(HR_SYNC),
    },
)
async def sync_people(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow(HR_SYNC))],
    mode: Annotated[Literal["upsert", "full"] | None, Query(description="For CSV bodies.")] = None,
    partnership_id: Annotated[uuid.UUID | None, Query(description="For CSV bodies.")] = None,
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media == "text/csv":
        body = SyncRequest(partnership_id=partnership_id, mode=mode or "upsert", people=csv_rows(raw))
    elif media == "application/json" or media.endswith("+json"):
        if mode is not None or partnership_id is not None:
            raise Unprocessable("With a JSON body, give mode and partnership_id in the body.")
        try:
            body = SyncRequest.model_validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise MalformedRequest("The request body is not valid JSON.") from exc
            raise Unprocessable("The sync request is invalid.", errors=validation_errors(exc.errors())) from exc
    else:
        raise UnsupportedMediaType("Send the feed as application/json or text/csv.")
    target = resolve_partnership(actor, body.partnership_id)
    result = await sync(session, actor=actor, partnership_id=target, mode=body.mode, rows=body.people)
    return json_response(result.model_dump())


def csv_rows(raw: bytes) -> list[dict[str, Any]]:
    """RFC 4180 CSV, UTF-8 (a byte-order mark is fine), header row of SyncPerson's field names."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The CSV is not UTF-8.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in SyncPerson.model_fields]
    missing = [h for h in ("external_id", "display_name") if h not in header]
    if unknown or missing:
        raise Unprocessable(
            "The CSV header must name the sync fields.",
            errors=[FieldError(pointer=f"/{h}", message="unknown column") for h in unknown]
            + [FieldError(pointer=f"/{h}", message="missing column") for h in missing],
        )
    rows: list[dict[str, Any]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise Unprocessable(f"At most {MAX_ROWS} rows per sync.")
        rows.append({k: (v if v != "" else None) for k, v in row.items() if k is not None and not (k == "active" and v in ("", None))})
    return rows
