"""Routes of exports (immutable progress packs) and the links that share them."""

import base64
import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response, StreamingResponse

from app.core import audit
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import Forbidden, NotFound, problems
from app.core.http import entity_response, not_modified
from app.core.idempotency import REDACT_HEADER
from app.core.permissions import PLAN_EDITORS, READERS, Access, allow, documented, roles_text
from app.core.resources import Resource
from app.core.routing import (
    API_PREFIX,
    IfNoneMatch,
    JsonBody,
    add_resource_routes,
    api_router,
    created_response,
    location,
    ok,
    public_base,
    read_one,
)
from app.evidence.router import storage_of
from app.evidence.service import verified
from app.exports import schemas as s
from app.exports import service
from app.exports.render import MEDIA_TYPES
from app.governance.resources import meetings
from app.models import Export, ShareLink
from app.models.enums import Audience, Role
from app.plans import resources as plan_resources

EXPORT_RULES = (
    "An export is the plan as recorded at the end of `as_of` (or when it was requested, if earlier), for one audience, in one "
    "format; its bytes are produced once, kept with their SHA-256 and never change. Content, in the order inspectors read it: "
    "cover (partnership, inspection, plan dates, governance); per concern the verbatim finding, delivery RAG, actions (owner, "
    "due and baseline dates, status, RAG, latest narrative, reason for slippage), measures (baseline → latest → target) and "
    "evidence index; EHCP 20-week timeliness by month and calendar year, with and without exceptions; funding by financial "
    "year. HTML, PDF and XLSX carry charts (RAG by concern, actions completed against planned, each measure against its "
    "trajectory, EHCP timeliness against target). Spreadsheet cells beginning `=`, `+`, `-`, `@`, tab or carriage return are "
    "text, never formulas. Every format shows the SHA-256 of the data it shows, equal in every pack that shows the same data."
)

exports = Resource(
    path="exports",
    entity="export",
    tag="exports",
    table=Export,
    create=s.ExportCreate,
    update=None,
    read=s.ExportRead,
    query=s.ExportQuery,
    operations=frozenset({"list", "get"}),
    access=Access(read=READERS),
    hidden=frozenset({"claimed_at"}),
    description=EXPORT_RULES,
)
share_links = Resource(
    path="share-links",
    entity="share_link",
    tag="exports",
    table=ShareLink,
    create=s.ShareLinkCreate,
    update=None,
    read=s.ShareLinkRead,
    query=s.ShareLinkQuery,
    operations=frozenset({"list", "get"}),
    access=Access(read=PLAN_EDITORS),
    hidden=frozenset({"token_hash"}),
    description="Links that open one export without an API key until they expire or are revoked; every access is audited "
    "(`share_access`, with the client's address). The token itself is shown only when the link is made.",
)

router = api_router()
BINARY = {"schema": {"type": "string", "format": "binary"}}
THE_BYTES = {
    "description": "The export's bytes, in its format's media type.",
    "content": {
        "application/json": {"schema": {"type": "object", "description": "The pack: `format_version`, `export`, `data_sha256`, `data`."}},
        **{media.split(";")[0]: BINARY for media in MEDIA_TYPES.values() if media != "application/json"},
    },
}
EXPORTERS = PLAN_EDITORS | {Role.inspector}
Creator = Annotated[Actor, Depends(allow(EXPORTERS))]
Reader = Annotated[Actor, Depends(allow(READERS))]
Editor = Annotated[Actor, Depends(allow(PLAN_EDITORS))]


@router.post(
    "/plans/{id}/exports",
    summary="Export a plan's progress pack",
    description=EXPORT_RULES + "\n\nPlans with more actions than `WSOA_EXPORT_INLINE_MAX_ACTIONS` (default 150; for PDF "
    "`WSOA_EXPORT_INLINE_MAX_PDF_ACTIONS`, default 50) are produced by `wsoa worker`: the export comes back `pending` and turns "
    "`ready` (or `failed`). `as_of` may not be in the future or before "
    "the plan was recorded (422). Inspectors may export for the `inspectors` audience only (403).\n\n"
    "An identical request (same plan, `format`, `audience` and `as_of`, while the plan's data the pack shows, its "
    "`data_sha256`, and the newest audit checkpoint are unchanged) is not rendered again: the answer is 200 with the newest such export (ready or pending) "
    "and `Content-Location` naming it; a new export answers 201 with `Location`. PDF and HTML exports cost most to produce: "
    "each key may request at most `WSOA_EXPORT_HEAVY_PER_HOUR` new ones an hour (default 30; 429 with `Retry-After`, the "
    "seconds to the next hour). The bytes are kept once per SHA-256, however many exports share them." + roles_text(EXPORTERS),
    tags=["exports"],
    operation_id="exports-create",
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={
        200: ok(s.ExportRead, "The export already made for the same request and data (nothing rendered).", s.EXPORT_EXAMPLE),
        201: ok(s.ExportRead, "The new export (ready, or pending for the worker).", s.EXPORT_EXAMPLE),
        **problems(404, 415),
    },
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": {"format": "pdf", "audience": "inspectors"}}}},
        **documented(EXPORTERS),
    },
)
async def create_export(
    request: Request, id: uuid.UUID, body: s.ExportCreate, session: SessionDep, db: DatabaseDep, actor: Creator
) -> Response:
    plan = await read_one(db, actor, plan_resources.plans, id)
    export_id, new = await service.make_export(
        db,
        session,
        storage_of(request),
        request.app.state.settings,
        actor=actor,
        plan=plan,
        export_format=body.format,
        audience=body.audience,
        as_of=body.as_of,
        since=body.since,
        limiter=request.app.state.limiter,
    )
    return await _answer(request, db, actor, export_id, new)


async def _answer(request: Request, db: Any, actor: Actor, export_id: uuid.UUID, new: bool) -> Response:
    made = await read_one(db, actor, exports, export_id)
    if not new:
        return entity_response(made, headers={"Content-Location": location(request, exports.path, export_id)})
    return created_response(request, exports, made)


@router.post(
    "/meetings/{id}/pack",
    summary="Make a meeting's pack",
    description="A progress pack of the meeting's plan (or `plan_id`, for a meeting about no plan in particular) as an "
    "export in any format, with the meeting's own page first: the meeting, the decisions due at it (`proposed`), the "
    "actions of the previous meeting (of the same board; for an external review, the previous review) and where they "
    "stand, and the open risks; then what changed since the previous meeting (new reds, re-rated, completed, reprogrammed, "
    "missed returns, risks), and the rest of the plan's pack (governance, risks and co-production included). `as_of` "
    "defaults to today, and may not be before the meeting was recorded (422). Exports' rules apply: immutable, produced once, an identical request "
    "answered with the export already made (200), share links for `inspectors` packs." + roles_text(EXPORTERS),
    tags=["governance"],
    operation_id="meetings-pack-create",
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={
        200: ok(s.ExportRead, "The pack already made for the same request and data (nothing rendered).", s.EXPORT_EXAMPLE),
        201: ok(s.ExportRead, "The new pack (ready, or pending for the worker).", s.EXPORT_EXAMPLE),
        **problems(404, 415),
    },
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": {"format": "pdf", "audience": "board"}}}},
        **documented(EXPORTERS),
    },
)
async def create_meeting_pack(
    request: Request, id: uuid.UUID, body: s.MeetingPackCreate, session: SessionDep, db: DatabaseDep, actor: Creator
) -> Response:
    meeting = await read_one(db, actor, meetings, id)
    export_id, new = await service.make_meeting_pack(
        db,
        session,
        storage_of(request),
        request.app.state.settings,
        actor=actor,
        meeting=meeting,
        body=body,
        limiter=request.app.state.limiter,
    )
    return await _answer(request, db, actor, export_id, new)


def _content(request: Request, export: dict[str, Any], headers: dict[str, str], disposition: str = "attachment") -> StreamingResponse:
    sha = export["sha256"]
    digest = base64.b64encode(bytes.fromhex(sha)).decode("ascii")
    headers |= {
        "ETag": f'"{sha}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "Content-Length": str(export["size_bytes"]),
        "Content-Disposition": f'{disposition}; filename="{export["file_name"]}"',
        "X-Content-Type-Options": "nosniff",
        # An HTML pack runs no script and loads nothing: everything it shows is inline.
        "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
    }
    return StreamingResponse(storage_of(request).read(sha), media_type=export["media_type"], headers=headers)


@router.get(
    "/exports/{id}/content",
    summary="Download an export",
    description="The export's bytes, exactly as produced: its media type, a download file name, `ETag` and `Repr-Digest` "
    "(its SHA-256). The stored bytes are re-hashed first and never served if they no longer match. 409 while the export is "
    "`pending` (with `Retry-After`) or when it `failed`. Inspectors may download `inspectors` exports only." + roles_text(READERS),
    tags=["exports"],
    operation_id="exports-content-get",
    response_class=Response,
    responses={
        200: THE_BYTES,
        304: {"description": "Not modified: you hold these bytes (`If-None-Match` with the ETag)."},
        **problems(404, 409, 500),
    },
    openapi_extra=documented(READERS),
)
async def download(
    request: Request, id: uuid.UUID, db: DatabaseDep, session: SessionDep, actor: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    export = await read_one(db, actor, exports, id)
    if not service.may_use(actor, export["audience"]):
        raise Forbidden("Inspectors may download exports for the `inspectors` audience only.")
    service.require_ready(export)
    if not_modified(if_none_match, f'"{export["sha256"]}"'):
        return Response(status_code=304, headers={"ETag": f'"{export["sha256"]}"'})
    await verified(storage_of(request), export["sha256"])
    if export["audience"] == Audience.board.value:  # owners' contact details and links to unredacted evidence
        audit.record_reads(session, actor=actor, entity_type="export", reads=[(id, export["partnership_id"])], what="board pack")
    return _content(request, export, {"Cache-Control": "private, max-age=31536000, immutable"})


@router.post(
    "/exports/{id}/share-links",
    summary="Share an export by link",
    description="A link that opens the export without an API key until `expires_at` (default 14 days, at most 90) or until it "
    "is revoked with `DELETE /share-links/{id}`. The token is in the response this once; only its SHA-256 is kept. The export "
    "must be ready, and for the `inspectors` or `public` audience: a `board` pack shows contact details and links to "
    "unredacted evidence, so it is never shared by link (409 `/problems/share-link-audience`). `expires_at` a moment no "
    "date can hold (such as year 1 in a zone ahead of UTC) is refused like any other out of range (422)." + roles_text(PLAN_EDITORS),
    tags=["exports"],
    operation_id="share-links-create",
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={201: ok(s.ShareLinkCreated, "The link, with its token (shown once)."), **problems(404, 409, 415)},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"example": {"expires_at": "2018-09-28T17:00:00Z"}}}},
        **documented(PLAN_EDITORS),
    },
)
async def create_share_link(
    request: Request, id: uuid.UUID, body: s.ShareLinkCreate, session: SessionDep, db: DatabaseDep, actor: Editor
) -> Response:
    export = await read_one(db, actor, exports, id)
    link_id, token = await service.create_share_link(
        session, request.app.state.settings, actor=actor, export=export, expires_at=body.expires_at
    )
    link = await read_one(db, actor, share_links, link_id)
    url = f"{public_base(request)}{API_PREFIX}/shared/{token}"
    response = created_response(request, share_links, {**link, "token": token, "url": url})
    response.headers[REDACT_HEADER] = "token,url"  # never kept for an Idempotency-Key replay
    return response


@router.delete(
    "/share-links/{id}",
    summary="Revoke a share link",
    description="The link stops working at once (410 for anyone who opens it). Needs no `If-Match`; revoking again changes "
    "nothing." + roles_text(PLAN_EDITORS),
    tags=["exports"],
    operation_id="share-links-delete",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Revoked."}, **problems(404)},
    openapi_extra=documented(PLAN_EDITORS),
)
async def revoke(id: uuid.UUID, session: SessionDep, db: DatabaseDep, actor: Editor) -> Response:
    link = await read_one(db, actor, share_links, id)
    await service.revoke_share_link(session, actor=actor, link=link)
    return Response(status_code=204)


@router.get(
    "/shared/{token}",
    summary="Open a shared export",
    description="The export's bytes for whoever holds the link, without an API key, until it expires or is revoked (410); "
    "a link made earlier to a `board` export no longer opens (410 `/problems/share-link-audience`). "
    "Request logs name the link's id, never its token (the path is logged as `/api/v1/shared/<redacted>`); "
    "HTML and PDF open in the browser (`Content-Disposition: inline`), other formats download. "
    "Each access is recorded in the audit trail with its time, client address and user agent.",
    tags=["exports"],
    operation_id="shared-get",
    response_class=Response,
    responses={
        200: THE_BYTES,
        **{k: v for k, v in problems(404, 410, 500).items() if k not in (401, 403)},
    },
    openapi_extra={"security": []},
)
async def shared(request: Request, token: str, session: SessionDep, db: DatabaseDep) -> Response:
    client = request.client.host if request.client else None
    limiter, limit = request.app.state.limiter, request.app.state.settings.failed_auth_per_minute
    if not await service.share_link_known(db, token[:200]):
        limiter.refuse_blocked(client, limit)  # an address guessing tokens gets 429 once it keeps trying
        await limiter.note_failure(client, limit)
        raise NotFound("No such share link.")
    export = await service.open_share_link(session, token=token[:200], client=client, user_agent=request.headers.get("user-agent"))
    request.state.share_link_id = str(export["id"])  # logged with the request instead of the token
    await verified(storage_of(request), export["sha256"])
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
    readable = export["media_type"].startswith(("text/html", "application/pdf"))  # opens in the browser; the rest downloads
    return _content(request, export, headers, "inline" if readable else "attachment")


add_resource_routes(router, exports)
add_resource_routes(router, share_links)
