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
from app.core.routing import add_resource_routes, api_router
from app.models.enums import Role
from app.partnerships import resources as r
from app.partnerships.sync import (
    MAX_ROWS,
    PREVIEW_EXAMPLE,
    RESULT_EXAMPLE,
    SYNC_EXAMPLE,
    SyncPerson,
    SyncPreview,
    SyncRequest,
    SyncResult,
    Unreadable,
)
from app.partnerships.sync import sync_people as sync

router = api_router()
for resource in (r.partnerships, r.organisations, r.people):
    add_resource_routes(router, resource)

HR_SYNC = frozenset({Role.admin, Role.hr_integration})
CSV_EXAMPLE = (
    "external_id,display_name,email,job_title,organisation,active,left_on\n"
    "HR004217,Priya Raman,priya.raman@wessexvale.gov.example,Head of SEND Assessment,Wessex Vale Council,true,\n"
    "HR004121,Paul Greaves,,,,false,2026-03-31\n"
)
REQUEST_SCHEMA = SyncRequest.model_json_schema()
REQUEST_SCHEMA["properties"]["people"]["items"] = SyncPerson.model_json_schema()  # each row, validated on its own
SYNC_DESCRIPTION = """Upserts people by `external_id` within the partnership. Nobody is ever deleted.

**A row changes only the fields it carries.** A field left out keeps its stored value; an explicit `null` (or `""`)
clears `email`, `job_title` or `organisation`; `display_name` and `active` cannot be null, and someone new needs a
`display_name`. A row without `active` keeps the person's status (someone new starts active): only `active: true`
brings a leaver back, and clears `left_on`. `active: false` marks the person as left on the row's `left_on` when it
gives one, else on the date already held, else on the partnership's today; `left_on` is accepted only with
`active: false`.

**`mode: full`** also marks everyone the feed no longer lists as left (`active: false`, `left_on` the partnership's
today), except people whose row failed. A full sync that would leave more than `WSOA_SYNC_MAX_DEACTIVATE_PERCENT`
(default 20%) of the active people the feed manages (those with an `external_id`) marked as left (missing from the feed or sent with
`active: false`) is refused with a 409 problem naming the count and the share, and changes nothing, unless the
query says `allow_mass_deactivation=true`.

**`dry_run=true`** answers with the same counts and errors, the changes the sync would make (each person created,
updated or marked as left, with every changing field from what to what, and the organisations it would create) and
`refused` (why the same request would get 409, or null); it writes nothing.

**Formats.** Send JSON, or `text/csv` (RFC 4180, UTF-8) with a header row of the row's field names; `mode` and
`partnership_id` then go in the query string. In CSV a column absent from the header is not carried, so it keeps
its stored value; an empty cell in a present column clears `email`, `job_title` or `organisation`, and counts as
left out for `display_name`, `active` and `left_on`. A line with more or fewer cells than the header is a row error.

Up to 10,000 rows; valid rows are applied even when others fail, and each failure names its row index.
Organisations are matched by name and created when new. Re-sending the same feed changes nothing. An unknown query
parameter is refused (422), never ignored."""


@router.post(
    "/people/sync",
    summary="Sync people from the HR system",
    description=SYNC_DESCRIPTION + roles_text(HR_SYNC),
    tags=["people"],
    operation_id="people-sync-create",
    response_class=Response,
    responses={
        200: {
            "model": SyncResult | SyncPreview,
            "description": "What the sync did, or with `dry_run=true` what it would do.",
            "content": {
                "application/json": {
                    "examples": {
                        "sync": {"summary": "Applied", "value": RESULT_EXAMPLE},
                        "dry_run": {"summary": "Dry run", "value": PREVIEW_EXAMPLE},
                    }
                }
            },
        },
        **problems(400, 409, 413, 415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": REQUEST_SCHEMA,
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
    dry_run: Annotated[bool, Query(description="Answer with what the sync would change, and change nothing.")] = False,
    allow_mass_deactivation: Annotated[
        bool, Query(description="Let a `full` sync mark more than `WSOA_SYNC_MAX_DEACTIVATE_PERCENT` of the active people as left.")
    ] = False,
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    rows: list[dict[str, Any] | Unreadable]
    if media == "text/csv":
        body = SyncRequest(partnership_id=partnership_id, mode=mode or "upsert", people=[])
        rows = csv_rows(raw)
    elif media == "application/json" or media.endswith("+json"):
        if mode is not None or partnership_id is not None:
            raise Unprocessable("With a JSON body, give mode and partnership_id in the body.")
        try:
            body = SyncRequest.model_validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise MalformedRequest("The request body is not valid JSON.") from exc
            raise Unprocessable("The sync request is invalid.", errors=validation_errors(exc.errors())) from exc
        rows = list(body.people)
    else:
        raise UnsupportedMediaType("Send the feed as application/json or text/csv.")
    target = resolve_partnership(actor, body.partnership_id)
    result = await sync(
        session,
        actor=actor,
        partnership_id=target,
        mode=body.mode,
        rows=rows,
        dry_run=dry_run,
        allow_mass_deactivation=allow_mass_deactivation,
        max_deactivate_percent=request.app.state.settings.sync_max_deactivate_percent,
    )
    return json_response(result.model_dump(mode="json", by_alias=True))


# In CSV an empty cell is null, which clears a field that may be empty; these cannot be cleared (a null `left_on`
# is the same as none given), so an empty cell leaves them out.
KEPT_WHEN_EMPTY = frozenset({"display_name", "active", "left_on"})


def csv_rows(raw: bytes) -> list[dict[str, Any] | Unreadable]:
    """RFC 4180 CSV, UTF-8 (a byte-order mark is fine), header row of SyncPerson's field names. A row carries the
    header's columns: an empty cell is null (see `KEPT_WHEN_EMPTY`), a line of the wrong width is unreadable."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The CSV is not UTF-8.") from exc
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise MalformedRequest(f"The CSV cannot be read: {exc}.") from exc
    header = lines[0] if lines else []
    unknown = [h for h in header if h not in SyncPerson.model_fields]
    repeated = sorted({h for h in header if header.count(h) > 1})
    missing = [h for h in ("external_id",) if h not in header]
    if unknown or missing or repeated:
        raise Unprocessable(
            "The CSV header must name the sync fields, each once.",
            errors=[FieldError(pointer=f"/{h}", message="unknown column") for h in unknown]
            + [FieldError(pointer=f"/{h}", message="missing column") for h in missing]
            + [FieldError(pointer=f"/{h}", message="column named more than once") for h in repeated],
        )
    rows: list[dict[str, Any] | Unreadable] = []
    key = header.index("external_id")
    for cells in lines[1:]:
        if not cells:
            continue  # a blank line
        if len(rows) >= MAX_ROWS:
            raise Unprocessable(f"At most {MAX_ROWS} rows per sync.")
        if len(cells) != len(header):
            external_id = cells[key].strip() or None if key < len(cells) else None
            rows.append(Unreadable(external_id, f"row: {len(cells)} cells where the header has {len(header)}; nothing in it was applied"))
            continue
        rows.append({h: (v if v != "" else None) for h, v in zip(header, cells, strict=True) if not (h in KEPT_WHEN_EMPTY and v == "")})
    return rows
