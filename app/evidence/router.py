"""Routes for evidence: the record (generic), its file (upload, download with ranges) and revisions."""

import re
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Header, Query, Request
from sqlalchemy import select
from sqlmodel import col
from starlette.responses import Response, StreamingResponse

from app.core import audit
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import DomainError, Forbidden, NotFound, problems
from app.core.http import json_response, not_modified
from app.core.permissions import PLAN_EDITORS, READERS, REPORTERS, Access, allow, documented, roles_text
from app.core.resources import Ref, Resource
from app.core.routing import add_resource_routes, api_router, ok, read_one
from app.core.uow import streams_body
from app.core.uploads import receive_request
from app.evidence import schemas as s
from app.evidence import service
from app.evidence.storage import Storage
from app.models import Action, Concern, Evidence, EvidenceRevision, Milestone
from app.models.enums import Role

evidence = Resource(
    path="evidence",
    entity="evidence",
    tag="evidence",
    table=Evidence,
    create=s.EvidenceCreate,
    update=s.EvidenceUpdate,
    state=s.EvidenceState,
    read=s.EvidenceRead,
    query=s.EvidenceQuery,
    parents=(Ref("action_id", Action, "action"), Ref("milestone_id", Milestone, "milestone"), Ref("concern_id", Concern, "concern")),
    access=Access(read=READERS, create=REPORTERS, update=REPORTERS, delete=PLAN_EDITORS),
    rules=service.EvidenceRules(),
    redact=service.present,
    description="Evidence of delivery and impact: a link to a document held elsewhere, or an uploaded file with revisions. "
    "A lead reviews it (`submitted` → `accepted` | `rejected`); completing an action needs accepted evidence when the plan says so.",
    create_example=s.EXAMPLES["create"],
    update_example={"review_status": "accepted", "review_note": "Shows the agreed trajectory."},
)
evidence.reader = service.EvidenceReader(evidence)

router = api_router()
add_resource_routes(router, evidence)


def storage_of(request: Request) -> Storage:
    store: Storage = request.app.state.storage
    return store


@router.post(
    "/evidence/{id}/file",
    summary="Upload a file for evidence",
    description="The file as the raw body (`Content-Type` its media type; name it with `Content-Disposition: attachment; filename=...`) "
    "or as `multipart/form-data` field `file`. It is streamed to storage while its SHA-256 is computed, sniffed from its bytes "
    "(PDF, Office documents, CSV, text, images; a mismatch with the declared type is a 415) and kept as the next revision; "
    "older revisions stay. The evidence goes back to `submitted` for review. Sending the same bytes again changes nothing "
    "(so a retry is safe without `Idempotency-Key`)." + roles_text(REPORTERS),
    tags=["evidence"],
    operation_id="evidence-file-create",
    status_code=201,
    response_class=Response,
    responses={
        201: ok(s.EvidenceRead, "The evidence with its new revision."),
        200: {"description": "The same bytes again: unchanged."},
        **problems(400, 404, 409, 413, 415),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "%PDF-1.7 ... (send the real media type, e.g. application/pdf)",
                },
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
                    "example": {"file": "(the file, with its name and content type)"},
                },
            }
        },
        **documented(REPORTERS),
    },
)
@streams_body
async def upload_file(
    request: Request, id: uuid.UUID, session: SessionDep, db: DatabaseDep, actor: Annotated[Actor, Depends(allow(REPORTERS))]
) -> Response:
    row = await read_one(db, actor, evidence, id)
    await service.require_submitter(session, actor, row)
    storage = storage_of(request)
    received = await receive_request(request, storage.scratch())
    created = await service.store_revision(
        session,
        storage,
        actor=actor,
        evidence_id=id,
        received=received,
        declared=received.declared,
        file_name=service.clean_file_name(received.name),
    )
    body = await read_one(db, actor, evidence, id)
    return json_response(body, status=201 if created else 200, headers={"Location": f"{request.url.path}"})


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(DomainError):
    status, type, title = 416, "/problems/range-not-satisfiable", "Range not satisfiable"


@router.get(
    "/evidence/{id}/file",
    summary="Download evidence's file",
    description="Streams the current file (or `?revision=n`) with `Content-Disposition`, `ETag` (its SHA-256) and single-range "
    "support (`Range: bytes=start-end` → 206). The stored bytes are re-hashed first; a mismatch is never served. Inspectors "
    "cannot download evidence held locally (personal data, not redacted), nor an older file of evidence holding personal "
    "data. Every download of a file of evidence holding personal data is recorded in the audit trail (`read`)." + roles_text(READERS),
    tags=["evidence"],
    operation_id="evidence-file-get",
    response_class=Response,
    responses={
        200: {"description": "The file, in its own media type.", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        206: {"description": "Part of the file."},
        304: {"description": "Not modified."},
        **problems(404, 416, 500),
    },
    openapi_extra=documented(READERS),
)
async def download_file(
    request: Request,
    id: uuid.UUID,
    session: SessionDep,
    db: DatabaseDep,
    actor: Annotated[Actor, Depends(allow(READERS))],
    revision: Annotated[int | None, Query(ge=1, description="An older revision.")] = None,
    range_: Annotated[str | None, Header(alias="Range", description="`bytes=start-end`")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    row = await read_one(db, actor, evidence, id)
    if actor.role is Role.inspector and row["availability"] == "held_locally":
        raise Forbidden("This evidence contains personal data and is held locally; it cannot be downloaded by inspectors.")
    older = revision is not None and revision != row["revision"]
    if older and actor.role is Role.inspector and row["contains_personal_data"]:
        raise Forbidden("Only the current file of evidence holding personal data is for inspectors: older files may not be redacted.")
    if older:
        found = (
            await session.execute(
                select(EvidenceRevision).where(col(EvidenceRevision.evidence_id) == id, col(EvidenceRevision.revision) == revision)
            )
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"The evidence has no revision {revision}.")
        sha, size, media_type, name = found.sha256, found.size_bytes, found.media_type, found.file_name
    elif row["sha256"] is None:
        raise NotFound("This evidence is a link; it has no file.")
    else:
        sha, size, media_type, name = row["sha256"], row["size_bytes"], row["media_type"], row["file_name"]
    etag = f'"{sha}"'
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    storage = storage_of(request)
    await service.verified(storage, sha)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(name or f'evidence-{id}')}",
    }
    start, end, status = 0, size - 1, 200
    if range_:
        match = RANGE.match(range_.strip())
        first, last = (match.group(1), match.group(2)) if match else ("", "")
        if not match or (first == "" and last == ""):
            raise RangeNotSatisfiable("Only a single `bytes=start-end` range is supported.", headers={"Content-Range": f"bytes */{size}"})
        if first == "":
            start = max(0, size - int(last))
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start > end or start >= size:
            raise RangeNotSatisfiable(f"The file has {size} bytes.", headers={"Content-Range": f"bytes */{size}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        status = 206
    headers["Content-Length"] = str(end - start + 1)
    if row["contains_personal_data"]:  # held locally, or redacted now but perhaps not in this file: who downloaded it is kept
        what = f"file, revision {revision or row['revision']}" + (f", bytes {start}-{end}" if status == 206 else "")
        audit.record_reads(session, actor=actor, entity_type="evidence", reads=[(id, row["partnership_id"])], what=what)
    return StreamingResponse(storage.read(sha, start, end), status_code=status, media_type=media_type, headers=headers)


def _quoted(name: str) -> str:
    return quote(name, safe="")


@router.get(
    "/evidence/{id}/revisions",
    summary="List evidence's file revisions",
    description="Every file uploaded for the evidence, oldest first; older revisions are never discarded." + roles_text(READERS),
    tags=["evidence"],
    operation_id="evidence-revisions-list",
    response_class=Response,
    responses={200: ok(s.RevisionPage, "The revisions."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def list_revisions(id: uuid.UUID, session: SessionDep, db: DatabaseDep, actor: Annotated[Actor, Depends(allow(READERS))]) -> Response:
    await read_one(db, actor, evidence, id)
    result = await session.execute(
        select(*EvidenceRevision.__table__.columns).where(col(EvidenceRevision.evidence_id) == id).order_by(col(EvidenceRevision.revision))  # type: ignore[attr-defined]
    )
    return json_response({"items": [dict(r._mapping) for r in result], "next_cursor": None})
