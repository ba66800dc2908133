"""Routes of the EHCP case events, their import from SEN2 and CSV files, and the timeliness report."""

import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import Field
from starlette.responses import Response

from app.cases import imports, sen2, timeliness
from app.cases.schemas import (
    EVENTS_EXAMPLE,
    IMPORT_REPORT_EXAMPLE,
    MAX_EVENTS,
    CaseEventBatch,
    ImportReport,
    IngestResult,
    TimelinessReport,
)
from app.cases.service import ingest
from app.core.auth import Actor, resolve_partnership
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import FieldError, NotFound, Unprocessable, UnsupportedMediaType, problems
from app.core.http import json_response
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.routing import JsonBody, api_router, ok
from app.core.schemas import QueryParams
from app.core.uow import streams_body
from app.core.uploads import receive_request
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


CSV_COLUMNS_TEXT = ", ".join(f"`{c}`" for c in sen2.CSV_COLUMNS)
IMPORT_DESCRIPTION = f"""Reads the file a case system already produces and turns each request for an EHC needs assessment in it
into case events, as if they had been sent to `POST /case-events` (pseudonymised the same way).

**The file**: the DfE's SEN2 person-level return as XML (`application/xml` or `text/xml`: `Message` with `Header` and
`Persons`/`Person` records holding `Requests`, their `Assessment`, `NamedPlan` and `ActivePlans`), or a CSV extract
(`text/csv`, UTF-8) with one row per request and a header row of these columns, in any order: {CSV_COLUMNS_TEXT}.
`ReceivedDate` and the person (`PersonID`, the case system's id for the child; or `Surname`, `Forename` and
`PersonBirthDate`) are required columns; the others are SEN2 items of the same name, plus `ExceptionReason` (a-d) and
`DraftDate`. Dates are `YYYY-MM-DD` (or `DD/MM/YYYY` in CSV). Send it as the raw body, or as `multipart/form-data`
field `file`; a body sent as `application/octet-stream` is XML when it starts with `<` (after a UTF-8 or UTF-16
byte-order mark). Up to `WSOA_CASE_IMPORT_MAX_BYTES` (64 MB) and `WSOA_CASE_IMPORT_MAX_RECORDS` requests (50,000); 413
beyond either.

**What becomes of it**: `ReceivedDate` → `request_received`; `RequestOutcome` A / N (or J) / W on `RequestOutcomeDate`
→ `request_decision` assess / not_assess / withdrawn; `AssessmentOutcome` Y / N / W on `AssessmentOutcomeDate` →
`assessment_decision` issue / not_issue / withdrawn (S: issue, and `transfer_in`); `StartDate` → `final_issued`;
`DraftDate` → `draft_issued`; `Week20` = 1 (or an `ExceptionReason`) → `exception`; `RequestMediation`,
`AssessmentMediation` → `mediation`; `RequestTribunal`, `AssessmentTribunal` → `tribunal`; `TransferLA` → `transfer_in`;
`ReviewMeeting` → `review_meeting`; `ReviewOutcome` M / A / C on `LastReview` → `review_decision` maintain / amend /
cease; `CeaseDate` → `review_decision` cease. Outcome `H` (historical) or none (pending) gives no decision. Flags carry
no date in SEN2: their events are dated on the request's receipt. Placements, needs, `OtherMediation`,
`OtherTribunal`, `Exported` and the phase-transfer items are not read.

**Personal details**: a case's reference is derived from the person (the CSV's `PersonID`, else name and date of birth)
and the request's `ReceivedDate` (a plan without one: its `StartDate`), and only ever stored as a keyed hash
(HMAC-SHA256), as `POST /case-events` stores `case_ref`; event ids are keyed hashes too. The derived reference holds a
space, which a `case_ref` sent to `POST /case-events` never does: no event sent there joins an imported case. Names,
dates of birth, UPNs, ULNs and postcodes are never stored, logged or repeated in the report, and UPNs, ULNs and
postcodes are not even read. An SEN2 file whose header names another local authority than the partnership's
`la_code`, or none (`Header`/`Source`/`LEA`), is refused (422).

**Idempotent**: the same file again adds nothing (`unchanged`); next month's cumulative file adds only what is new.
Case events are never changed: a request whose decision, plan or exception was imported before with another date or
outcome is refused, naming what is held. A changed `ReceivedDate` is a new request.

**All or nothing**: a request with any problem (a date that is not one or is after today, an unknown code, a decision
without its date, its person not identifiable, a conflict with what is held) is refused whole and listed in
`refusals` with its record number, line, pointer into the file and item. With refused requests and without
`dry_run`, nothing is written and the answer is 422 `/problems/import-refused` carrying the same report as `report`,
unless `skip_refused=true` imports the others. A file that cannot be read at all (not well-formed XML, an encoding
the parser cannot read, a DTD or entities, elements or columns the format does not have, nesting deeper than 16
levels, no `LEA` in the header, no usable header row) is 422 `/problems/unreadable-import` with pointers.
`dry_run=true` answers with the report and writes nothing. Each import is one audit event, the `sync` of the
partnership's `case_events` that any batch writes, with the import's id, the file's SHA-256 and its counts."""
IMPORT_XML_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>SEN2</Collection><Year>2026</Year><ReferenceDate>2026-01-15</ReferenceDate></CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>990</LEA><SoftwareCode>CaseSystem</SoftwareCode><Release>4.2</Release>
      <SerialNo>7</SerialNo><DateTime>2026-01-16T09:30:00</DateTime></Source>
  </Header>
  <Persons>
    <Person>
      <Surname>Example</Surname><Forename>Sam</Forename><PersonBirthDate>2016-04-09</PersonBirthDate><Sex>M</Sex>
      <Ethnicity>WBRI</Ethnicity><PostCode>ZZ99 3WZ</PostCode><UPN>A123456789012</UPN>
      <Requests>
        <ReceivedDate>2025-01-13</ReceivedDate><RequestSource>1</RequestSource><RYA>0</RYA>
        <RequestOutcomeDate>2025-02-21</RequestOutcomeDate><RequestOutcome>A</RequestOutcome>
        <RequestMediation>0</RequestMediation><RequestTribunal>0</RequestTribunal>
        <Assessment>
          <AssessmentOutcome>Y</AssessmentOutcome><AssessmentOutcomeDate>2025-05-09</AssessmentOutcomeDate>
          <AssessmentMediation>0</AssessmentMediation><AssessmentTribunal>0</AssessmentTribunal>
          <OtherMediation>0</OtherMediation><OtherTribunal>0</OtherTribunal><Week20>0</Week20>
          <NamedPlan><StartDate>2025-05-30</StartDate><PB>0</PB></NamedPlan>
        </Assessment>
        <ActivePlans><ReviewMeeting>2025-12-01</ReviewMeeting><ReviewOutcome>M</ReviewOutcome><LastReview>2025-12-19</LastReview></ActivePlans>
      </Requests>
    </Person>
  </Persons>
</Message>
"""


class ImportQuery(QueryParams):
    partnership_id: uuid.UUID | None = Field(None, description="May be left out when the key belongs to exactly one partnership.")
    dry_run: bool = Field(False, description="Answer with the report, and write nothing.")
    skip_refused: bool = Field(False, description="Import the requests that can be imported even when others are refused.")


@router.post(
    "/case-events/imports",
    summary="Import case events from an SEN2 return or a CSV extract",
    description=IMPORT_DESCRIPTION + roles_text(CASE_WRITERS),
    tags=["ehcp timeliness"],
    operation_id="case-events-imports-create",
    response_class=Response,
    responses={
        200: ok(ImportReport, "What the import added (or, with `dry_run`, would add), request by request.", IMPORT_REPORT_EXAMPLE),
        **problems(400, 413, 415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string"}, "example": IMPORT_XML_EXAMPLE},
                "text/csv": {"schema": {"type": "string"}, "example": sen2.CSV_EXAMPLE},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]},
                    "example": {"file": "(the SEN2 XML or CSV file)"},
                },
            },
        },
        **documented(CASE_WRITERS),
    },
)
@streams_body
async def import_case_events(
    request: Request,
    query: Annotated[ImportQuery, Query()],
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow(CASE_WRITERS))],
) -> Response:
    target = resolve_partnership(actor, query.partnership_id)
    settings = request.app.state.settings
    with tempfile.TemporaryDirectory(prefix="wsoa-import-") as folder:
        received = await receive_request(request, Path(folder))
        if received.size == 0:
            raise Unprocessable("The file is empty.", errors=[FieldError(pointer="", message="empty body")])
        kind = sen2.format_of(received.declared, received.head)
        if kind is None:
            raise UnsupportedMediaType("Send an SEN2 return as application/xml (or text/xml), or a CSV extract as text/csv.")
        report = await imports.import_file(
            session,
            actor=actor,
            settings=settings,
            partnership_id=target,
            path=received.path,
            kind=kind,
            sha256=received.sha256,
            dry_run=query.dry_run,
            skip_refused=query.skip_refused,
        )
    return json_response(report.model_dump(mode="json"))


REPORT_EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # what a timeliness report may ask for
MAX_SPAN_DAYS = 366 * 30


class TimelinessQuery(QueryParams):
    from_on: date | None = Field(
        None,
        alias="from",
        ge=REPORT_EARLIEST,
        le=LATEST,
        description="First day (default: the first day of the month 11 months before `to`).",
    )
    to: date | None = Field(
        None, ge=REPORT_EARLIEST, le=LATEST, description="Last day, and the date of the backlog (default: the partnership's today)."
    )
    granularity: Literal["month", "quarter", "year"] = "month"


@router.get(
    "/partnerships/{id}/ehcp-timeliness",
    summary="EHC plan 20-week timeliness",
    description="Per calendar month, quarter or year overlapping `from`..`to` (each clipped to it): plans issued, issued "
    "within 20 weeks and the percentage, with and without exceptions; bands over 20 and over 52 weeks and average weeks; "
    "and the backlog on `to`. Computed from the case events as the DfE computes its SEN2 timeliness statistics: deadline = "
    "request received + 140 days; the cohort is cases whose first final plan was issued in the period, less transferred-in cases and cases "
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
