"""Routes of the tracker import: the import itself, its template workbook, and column mappings saved by name."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.responses import Response

from app.core.auth import Actor
from app.core.db import SessionDep
from app.core.errors import FieldError, PayloadTooLarge, Unprocessable, UnsupportedMediaType, problems
from app.core.http import json_response
from app.core.permissions import PLAN_EDITORS, READERS, Access, allow, documented, roles_text
from app.core.resources import Ref, Resource, Unique
from app.core.routing import add_resource_routes, api_router
from app.imports import schemas as s
from app.imports import service
from app.imports.template import template
from app.models import ImportMapping, Partnership
from app.partnerships.service import today_in, today_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RAW_TYPES = {XLSX, "text/csv", "application/csv", "application/octet-stream"}

import_mappings = Resource(
    path="import-mappings",
    entity="import_mapping",
    tag="imports",
    table=ImportMapping,
    create=s.ImportMappingCreate,
    update=s.ImportMappingUpdate,
    read=s.ImportMappingRead,
    query=s.ImportMappingQuery,
    access=Access(read=PLAN_EDITORS, create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS),
    parents=(Ref("partnership_id", Partnership, "partnership"),),
    unique=(Unique("name", ("partnership_id",)),),
    description="Where each field sits in a council's own tracker (sheet, heading row, the heading of each column), saved by "
    "name so the tracker imports again each month with `POST /plans/{id}/imports?mapping=<name>`.",
    create_example={
        "partnership_id": "0b6c2f4e-8d1a-4b3c-9e5f-7a8b9c0d1e2f",
        "name": "Delivery Group tracker",
        "mapping": {
            "actions": {
                "sheet": "Action plan",
                "columns": {
                    "concern": "Area of weakness",
                    "ref": "Ref",
                    "title": "Action",
                    "owner": "Lead officer",
                    "due_on": "Target date",
                    "status": "Status",
                    "rag": "RAG",
                    "progress": "Update this month",
                },
            }
        },
    },
    update_example={"name": "Delivery Group tracker (2026 layout)"},
)

router = api_router()
add_resource_routes(router, import_mappings)

IMPORT_RULES = f"""Import a council's existing tracker into the plan: an Excel workbook (`.xlsx`) or a CSV file, sent as
`multipart/form-data` (field `file`, and optionally field `mapping` holding the column mapping as JSON) or as the raw body
(`{XLSX}` or `text/csv`).

**Mapping.** Where each field sits: per table (`actions`, `milestones`, `measures`) the sheet, the heading row (found when
left out: the first of the top 30 rows holding every mapped heading) and each field's column heading. Send it in the
`mapping` field, or name a saved one with `?mapping=` (`/import-mappings`); with neither, the template's mapping
(`GET /import-template.xlsx`), in which only the action's reference (and a milestone's action, title and due date, a
measure's name, unit, baseline and target) must be there: its other columns and sheets may be left out. A CSV file is one table, the actions. Merged cells give their value to every cell they cover
(an area of weakness merged down its actions' rows); banner rows and empty rows are skipped. Dates may be date cells or
text (31/03/2026, 31 March 2026; a month alone means its last day); RAG and status are words (Amber/Red reads as Red).

**Matching.** Concerns and actions by `ref`, milestones by action and title, measures by name, history by measure and
month. A row that says nothing new changes nothing: the same file imported again leaves the plan as it was. An empty cell
or an unmapped column never clears what the plan holds; an existing concern is never rewritten. Every row goes through
the same rules as the API (owners must be current members; completing may need accepted evidence; a new due date on an
accepted plan needs a reason). The latest progress narrative becomes a progress update when the action has never had
it (an old tracker cannot bury a newer update), signed by the caller's person: a key that acts as no person cannot
import progress. A reference twice in a file, or a heading in two columns, is refused rather than guessed.

**All or nothing.** `dry_run=true` answers with what would be created, updated, left unchanged and refused, row by row
with the cell and the reason, and writes nothing. Without it, one refused row refuses the whole import (422
`/problems/import-refused`, each problem pointing at `/<sheet>/<cell>`); otherwise every row is written in one
transaction, each change audited as through the API, plus one `sync` event on the plan with the file's SHA-256 and counts.
A superseded plan is read-only history: 409 `/problems/plan-superseded`."""


@router.post(
    "/plans/{plan_id}/imports",
    summary="Import a tracker (XLSX or CSV) into the plan",
    operation_id="plans-imports-create",
    description=IMPORT_RULES + roles_text(PLAN_EDITORS),
    tags=["imports"],
    response_model=s.ImportReport,
    responses={
        200: {"description": "What the import did, or with `dry_run=true` what it would do (nothing written)."},
        **problems(400, 403, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary", "description": "The tracker (.xlsx or .csv)."},
                            "mapping": {"type": "string", "description": "The column mapping as JSON (see `Mapping`)."},
                        },
                    }
                },
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "Concern ref,Concern,Action ref,Action,Owner (e-mail or HR id),Status,Due date\n"
                    "W1,Timeliness of EHC plans,1.1,Recruit four EHC coordinators,head.of.send@example.gov.uk,In progress,31/03/2027\n",
                },
            },
        },
        **documented(PLAN_EDITORS),
    },
)
async def import_tracker(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow(PLAN_EDITORS))],
    plan_id: uuid.UUID,
    dry_run: Annotated[bool, Query(description="Answer with what the import would do, and write nothing.")] = False,
    mapping: Annotated[str | None, Query(min_length=1, max_length=100, description="The name of a saved mapping.")] = None,
) -> Response:
    limit: int = request.app.state.settings.upload_max_bytes
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    sent: s.Mapping | None = None
    if media == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=2)
        try:
            upload, text = form.get("file"), form.get("mapping")
            if upload is None or isinstance(upload, str):
                raise Unprocessable(
                    "Send the tracker in a multipart field named `file`.", errors=[FieldError(pointer="/file", message="missing")]
                )
            raw = await upload.read(limit + 1)
            filename = upload.filename
            if isinstance(text, str) and text.strip():
                sent = service.mapping_from_json(text)
        finally:
            await form.close()
    elif media in RAW_TYPES:
        raw, filename = await request.body(), None
    else:
        raise UnsupportedMediaType(f"Send the tracker as multipart/form-data, {XLSX} or text/csv.")
    if len(raw) > limit:
        raise PayloadTooLarge(f"The tracker is larger than {limit} bytes.")
    report = await service.import_file(
        session, actor=actor, plan_id=plan_id, raw=raw, filename=filename, sent=sent, saved=mapping, dry_run=dry_run
    )
    return json_response(report.model_dump(mode="json"))


@router.get(
    "/import-template.xlsx",
    summary="The import template workbook",
    operation_id="import-template-get",
    description="An Excel workbook with a sheet per table the import reads (actions, milestones, measures with their monthly "
    "history), the headings of the default mapping, an example row in each and a sheet explaining every column. Filled in and "
    "sent to `POST /plans/{id}/imports` without a mapping, it imports as it is." + roles_text(READERS),
    tags=["imports"],
    responses={
        200: {"description": "The workbook.", "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        **problems(401, 403, 429),
    },
    openapi_extra=documented(READERS),
)
async def import_template(session: SessionDep, actor: Annotated[Actor, Depends(allow(READERS))]) -> Response:
    today = await today_of(session, actor.partnership_id) if actor.partnership_id is not None else today_in("Europe/London")
    return Response(
        template(today),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="wsoa-import-template.xlsx"'},
    )
