"""Case events in (a case system's integration), EHC plan timeliness out."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.schemas import Body
from app.models.enums import CaseEventType

MAX_EVENTS = 10_000
EARLIEST = date(1990, 1, 1)  # the earliest date an import reads
T = CaseEventType
OUTCOMES: dict[CaseEventType, frozenset[str]] = {
    T.request_decision: frozenset({"assess", "not_assess", "withdrawn"}),
    T.assessment_decision: frozenset({"issue", "not_issue", "withdrawn"}),
    T.review_decision: frozenset({"maintain", "amend", "cease"}),
}
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]


class CaseEventIn(BaseModel):
    """One event of one EHC needs assessment case. Only these fields are accepted: no names, no dates of birth."""

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier = Field(description="The case system's id for the event; a re-sent event_id counts once.")
    case_ref: Identifier = Field(description="The case system's reference; stored only as a keyed hash (HMAC-SHA256).")
    type: CaseEventType
    occurred_on: date
    outcome: str | None = Field(
        None,
        description="`request_decision`: assess | not_assess | withdrawn; `assessment_decision`: issue | not_issue | withdrawn; "
        "`review_decision`: maintain | amend | cease. Not given for other types.",
    )
    reason: Literal["a", "b", "c", "d"] | None = Field(
        None, description="For `exception` events: which exception of the SEN Regulations 2014, reg. 10(4)(a)-(d), applies."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        allowed = OUTCOMES.get(self.type)
        if allowed is None and self.outcome is not None:
            raise ValueError(f"{self.type.value} events carry no outcome")
        if allowed is not None and self.outcome not in allowed:
            raise ValueError(f"{self.type.value} needs an outcome of {', '.join(sorted(allowed))}")
        if (self.type == T.exception) != (self.reason is not None):
            raise ValueError("exception events need a reason (a-d); other events carry none")
        return self


EVENTS_EXAMPLE: dict[str, Any] = {
    "events": [
        {"event_id": "ev-100231", "case_ref": "EHC-2026-00417", "type": "request_received", "occurred_on": "2026-03-02"},
        {
            "event_id": "ev-100587",
            "case_ref": "EHC-2026-00417",
            "type": "request_decision",
            "occurred_on": "2026-04-10",
            "outcome": "assess",
        },
        {"event_id": "ev-101022", "case_ref": "EHC-2026-00417", "type": "exception", "occurred_on": "2026-05-01", "reason": "c"},
        {"event_id": "ev-101877", "case_ref": "EHC-2026-00417", "type": "final_issued", "occurred_on": "2026-07-24"},
    ]
}


class CaseEventBatch(Body):
    model_config = ConfigDict(json_schema_extra={"example": EVENTS_EXAMPLE})

    partnership_id: uuid.UUID | None = Field(None, description="May be left out when the key belongs to exactly one partnership.")
    events: list[CaseEventIn] = Field(min_length=1, max_length=MAX_EVENTS, description="Up to 10,000 events, in any order.")


class IngestResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"accepted": 9_874, "duplicates": 126}})

    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events already held (same event_id and content), counted once.")


class Period(BaseModel):
    period_start_on: date
    period_end_on: date
    covered: bool = Field(
        description="Whether the case events held cover the period: it starts at least 52 weeks after the first request held "
        "(`covered_from`). Figures of uncovered periods miss the late plans of earlier requests and look better than they are."
    )
    plans_issued: int
    issued_within_20_weeks: int
    pct_within_20_weeks: float | None
    plans_issued_excl_exceptions: int
    issued_within_20_weeks_excl_exceptions: int
    pct_within_20_weeks_excl_exceptions: float | None
    over_20_under_52_weeks: int
    over_52_weeks: int
    avg_weeks: float | None
    decisions_due: int = Field(
        description="Requests whose decision whether to assess fell due in the period (6 weeks after receipt), less requests "
        "withdrawn undecided within those 6 weeks; undecided by the deadline counts as late."
    )
    decided_within_6_weeks: int = Field(description="Of those, decided (to assess or not) within 42 days of the request.")
    pct_decided_within_6_weeks: float | None
    review_meetings: int = Field(description="Annual review meetings held in the period (one per case and day).")
    review_decisions_within_4_weeks: int = Field(description="Of those, with the decision notified within 28 days of the meeting.")
    review_decisions_late: int = Field(
        description="Notified later than 28 days after the meeting, or not at all once 28 days passed by `to`."
    )
    review_decisions_pending: int = Field(description="Not yet notified, still within their 28 days on `to`.")
    pct_review_decisions_within_4_weeks: float | None = Field(
        description="Within 4 weeks, of those decided in time or late (pending left out)."
    )


class Backlog(BaseModel):
    as_of: date
    total: int = Field(description="Open cases (decided to assess, not withdrawn or refused since) past their 20-week deadline.")
    with_exception: int = Field(description="Of those, cases with an exception recorded.")


class OverdueReviews(BaseModel):
    as_of: date
    total: int = Field(
        description="Plans issued and not ceased whose annual review is overdue: more than a year since the last review "
        "(meeting or decision), or since the final plan before any; only plans whose final plan is among the events held."
    )


class TimelinessReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "from_on": "2026-01-01",
                "to_on": "2026-03-31",
                "granularity": "quarter",
                "covered_from": "2024-04-08",
                "periods": [
                    {
                        "period_start_on": "2026-01-01",
                        "period_end_on": "2026-03-31",
                        "covered": True,
                        "plans_issued": 112,
                        "issued_within_20_weeks": 71,
                        "pct_within_20_weeks": 63.4,
                        "plans_issued_excl_exceptions": 104,
                        "issued_within_20_weeks_excl_exceptions": 68,
                        "pct_within_20_weeks_excl_exceptions": 65.4,
                        "over_20_under_52_weeks": 36,
                        "over_52_weeks": 5,
                        "avg_weeks": 21.7,
                        "decisions_due": 190,
                        "decided_within_6_weeks": 151,
                        "pct_decided_within_6_weeks": 79.5,
                        "review_meetings": 640,
                        "review_decisions_within_4_weeks": 402,
                        "review_decisions_late": 188,
                        "review_decisions_pending": 50,
                        "pct_review_decisions_within_4_weeks": 68.1,
                    }
                ],
                "backlog": {"as_of": "2026-03-31", "total": 48, "with_exception": 6},
                "annual_reviews_overdue": {"as_of": "2026-03-31", "total": 212},
            }
        }
    )
    partnership_id: uuid.UUID
    from_on: date
    to_on: date
    granularity: Literal["month", "quarter", "year"]
    covered_from: date | None = Field(
        description="The first day of a period the case events cover: 52 weeks after the first request held (null without any)."
    )
    periods: list[Period]
    backlog: Backlog
    annual_reviews_overdue: OverdueReviews


class ImportIssue(BaseModel):
    record: int = Field(description="The request's number in the file, from 1 (XML: the n-th <Requests>; CSV: the n-th data row).")
    line: int = Field(description="The line of the file where the request starts.")
    pointer: str = Field(
        description="JSON Pointer (RFC 6901) into the file: `/Message/Persons/Person/{i}/Requests/{j}/...` (from 0) in XML, "
        "`/rows/{i}/{column}` in CSV."
    )
    item: str = Field(description="The SEN2 item (or CSV column) concerned; empty for the record as a whole.")
    message: str = Field(description="What is wrong, or what was left out. Never repeats a personal detail (a name, a date of birth).")


IMPORT_REPORT_EXAMPLE: dict[str, Any] = {
    "import_id": "5f0e1b0c-8a51-4f0a-a7a1-0c2f3d9e6b21",
    "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
    "format": "sen2_xml",
    "sha256": "9f2c0d7e4b1a3c5e8f6d2b0a1c3e5f7a9b8d6c4e2f0a1b3c5d7e9f8a6b4c2d0e",
    "dry_run": False,
    "skip_refused": True,
    "applied": True,
    "records": 8124,
    "accepted": 311,
    "unchanged": 7810,
    "refused": 3,
    "events_new": 402,
    "events_held": 36974,
    "refusals": [
        {
            "record": 5120,
            "line": 160233,
            "pointer": "/Message/Persons/Person/3161/Requests/0/Assessment/AssessmentOutcome",
            "item": "AssessmentOutcome",
            "message": "AssessmentOutcome differs from what was imported before (assessment_decision issue on 2025-05-09): case events "
            "are never changed",
        }
    ],
    "notes": [
        {
            "record": 77,
            "line": 2410,
            "pointer": "/Message/Persons/Person/51/Requests/0/ActivePlans/ReviewOutcome",
            "item": "ReviewOutcome",
            "message": "ReviewOutcome without LastReview: the decision is left out",
        }
    ],
}


class ImportReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": IMPORT_REPORT_EXAMPLE})

    import_id: uuid.UUID = Field(description="The import's id: the audit event of the import has it as `entity_id`.")
    partnership_id: uuid.UUID
    format: Literal["sen2_xml", "csv"]
    sha256: str = Field(description="SHA-256 of the file as received (to tell files apart; the file itself is not kept).")
    dry_run: bool
    skip_refused: bool
    applied: bool = Field(description="Whether the events were written (false for a dry run).")
    records: int = Field(description="Requests read from the file.")
    accepted: int = Field(description="Requests with events not held before (written now, or that would be with `dry_run`).")
    unchanged: int = Field(description="Requests whose events were all held already.")
    refused: int = Field(description="Requests not imported, each with its reasons in `refusals`.")
    events_new: int = Field(description="Case events the accepted requests add.")
    events_held: int = Field(description="Case events of the file already held (from an earlier import of this or an older file).")
    refusals: list[ImportIssue] = Field(description="Why requests were refused (the first 1,000).")
    notes: list[ImportIssue] = Field(description="Items of imported requests that were left out, and why (the first 1,000).")
