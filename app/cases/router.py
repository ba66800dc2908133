"""Routes of the EHCP case events and the timeliness report."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import Field
from starlette.responses import Response

from app.cases import timeliness
from app.cases.schemas import EVENTS_EXAMPLE, MAX_EVENTS, CaseEventBatch, IngestResult, TimelinessReport
from app.cases.service import ingest
from app.core.auth import Actor, resolve_partnership
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import FieldError, NotFound, Unprocessable, problems
from app.core.http import json_response
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.routing import JsonBody, api_router, ok
from app.core.schemas import QueryParams
from app.models.enums import Role
from app.partnerships.service import local

router = api_router()
CASE_WRITERS = frozenset({Role.admin, Role.case_integration})
TIMELINESS_READERS = READERS | {Role.case_integration}


@router.post(
    "/case-events",
    summary="Send EHC needs assessment case events",
    description=f"Up to {MAX_EVENTS:,} events from the case system, in any order. Idempotent by `event_id`: an event already "
    "held is counted as a duplicate; the same `event_id` with different content is 409 `/problems/event-conflict`. The batch "
    "is applied whole or not at all. `case_ref` is stored only as a keyed hash (HMAC-SHA256); fields beyond the contract "
    "(a name, a date of birth) are refused with 422, as are events dated after the partnership's today. Measures with "
    "`source: ehcp_timeliness` are brought up to date in the same transaction." + roles_text(CASE_WRITERS),
    tags=["ehcp timeliness"],
    operation_id="case-events-create",
    response_class=Response,
    dependencies=[JsonBody],
    responses={200: ok(IngestResult, "What the batch added."), **problems(400, 409, 413, 415)},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": EVENTS_EXAMPLE}}}, **documented(CASE_WRITERS)},
)
async def post_case_events(
    request: Request, body: CaseEventBatch, session: SessionDep, actor: Annotated[Actor, Depends(allow(CASE_WRITERS))]
) -> Response:
    target = resolve_partnership(actor, body.partnership_id)
    result = await ingest(session, actor=actor, settings=request.app.state.settings, partnership_id=target, events=body.events)
    return json_response(result.model_dump())


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
MAX_SPAN_DAYS = 366 * 30


class TimelinessQuery(QueryParams):
    from_on: date | None = Field(
        None, alias="from", ge=EARLIEST, le=LATEST, description="First day (default: the first day of the month 11 months before `to`)."
    )
    to: date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="Last day, and the date of the backlog (default: the partnership's today)."
    )
    granularity: Literal["month", "quarter", "year"] = "month"


@router.get(
    "/partnerships/{id}/ehcp-timeliness",
    summary="EHC plan 20-week timeliness",
    description="Per calendar month, quarter or year overlapping `from`..`to` (each clipped to it): plans issued, issued "
    "within 20 weeks and the percentage, with and without exceptions; bands over 20 and over 52 weeks and average weeks; "
    "and the backlog on `to`. Computed from the case events exactly as CONTRACT.md defines: deadline = request received "
    "+ 140 days; the cohort is cases whose first final plan was issued in the period, less transferred-in cases and cases "
    'with any mediation or tribunal event; "excl exceptions" drops cases with an exception from numerator and denominator; '
    "percentages and average weeks are rounded to one decimal place (halves up), null when nothing was issued. Events "
    "dated after `to` are ignored. A period is `covered` once 52 weeks of requests precede it (`covered_from`, from the first "
    "request held); earlier periods are computed from what is held but miss the late plans of older requests. The plan's "
    "`ehcp_timeliness` measures track the percentage excluding exceptions, for covered months only. Aggregates only: no "
    "case-level data." + roles_text(TIMELINESS_READERS),
    tags=["ehcp timeliness"],
    operation_id="partnerships-ehcp-timeliness-get",
    response_class=Response,
    responses={200: ok(TimelinessReport, "The report."), **problems(404)},
    openapi_extra=documented(TIMELINESS_READERS),
)
async def get_timeliness(
    id: uuid.UUID,
    query: Annotated[TimelinessQuery, Query()],
    db: DatabaseDep,
    actor: Annotated[Actor, Depends(allow(TIMELINESS_READERS))],
) -> Response:
    async with db.read_session() as session:
        area = await local(session, id) if actor.sees(id) else None
    if area is None:
        raise NotFound(f"No partnership with id {id}.")
    end = query.to or area.today
    start = query.from_on or default_start(end)
    if start > end:
        raise Unprocessable("from must not be after to.", errors=[FieldError(pointer="/from", message="after to")])
    if (end - start).days > MAX_SPAN_DAYS:
        raise Unprocessable("At most 30 years at a time.", errors=[FieldError(pointer="/from", message="range too long")])
    async with db.read() as reads:
        found: dict[str, Any] = await timeliness.report(reads, partnership_id=id, start=start, end=end, granularity=query.granularity)
    return json_response(found)


def default_start(end: date) -> date:
    year, month = divmod(end.year * 12 + end.month - 1 - 11, 12)
    return date(year, month + 1, 1)
