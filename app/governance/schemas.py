"""Request and response models of boards, meetings, decisions and meeting actions."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LinkIds, LongText, Name, Title, patch_model, plan_date, touched
from app.models.enums import (
    EXTERNAL_REVIEWS,
    BoardKind,
    DecisionStatus,
    MeetingActionStatus,
    MeetingKind,
    MeetingStatus,
    Representing,
    ReviewOutcome,
)

PARTNERSHIP_ID = "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11"
PLAN_ID = "7c6b5a49-3827-4165-9483-726150493827"
BOARD_ID = "4d5e6f70-8192-4a3b-8c4d-5e6f708192a3"
MEETING_ID = "6f708192-a3b4-4c5d-8e6f-708192a3b4c5"
DECISION_ID = "8192a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7"
MEETING_ACTION_ID = "a3b4c5d6-e7f8-4091-a2b3-c4d5e6f70819"
CHAIR_ID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b"
FORUM_ID = "2b4d6f81-a3c5-4e7a-9c1e-3f5a7c9e1b3d"
CONCERN_ID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
ACTION_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
STAMP: dict[str, Any] = {"created_at": "2026-11-10T18:00:00Z", "updated_at": "2026-11-10T18:00:00Z", "version": 1}
RoleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Member(Body):
    person_id: uuid.UUID
    representing: Representing = Field(description="Whom the member speaks for: the parent carer forum, health, schools...")
    role: RoleName | None = Field(None, description="Their role on the body, e.g. `Vice-chair`, `ICB executive lead for SEND`.")


class Attendee(Body):
    """Someone at (or sending apologies to) a meeting: one of the partnership's people, or a named guest (a DfE adviser)."""

    person_id: uuid.UUID | None = None
    name: Name | None = Field(None, description="For someone who is not one of the partnership's people.")
    representing: Representing
    role: RoleName | None = None

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if (self.person_id is None) == (self.name is None):
            raise ValueError("give either person_id (one of the partnership's people) or name (a guest), one of the two")
        return self


class ConcernOutcome(Body):
    """An external review's outcome for one concern of the plan it reviewed. The inspectors' judgement at a revisit or
    monitoring inspection belongs on the concern too (`judgement`), where packs print it."""

    concern_id: uuid.UUID
    outcome: ReviewOutcome
    monitoring_ended: bool = Field(False, description="The reviewers stopped monitoring this concern (a workstream signed off).")
    note: LongText | None = None


# Boards -----------------------------------------------------------------------------------------


class BoardCreate(Body):
    partnership_id: uuid.UUID
    name: Name = Field(description="Unique within the partnership, e.g. `SEND Delivery Group`.")
    kind: BoardKind
    chair_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = Field(None, description="The body it reports to (a workstream group reports to the Delivery Group).")
    members: list[Member] = Field(default_factory=list, max_length=200)
    active: bool = True

    @field_validator("members")
    @classmethod
    def _once_each(cls, members: list[Member]) -> list[Member]:
        people = [m.person_id for m in members]
        if len(set(people)) != len(people):
            raise ValueError("each person is a member once")
        return members


BoardUpdate = patch_model("BoardUpdate", BoardCreate, exclude={"partnership_id"})


class BoardRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": BOARD_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "name": "SEND Delivery Group",
                "kind": "delivery_group",
                "chair_id": CHAIR_ID,
                "parent_id": None,
                "members": [
                    {"person_id": CHAIR_ID, "representing": "elected_member", "role": "Chair, Cabinet Member for Children"},
                    {"person_id": FORUM_ID, "representing": "parent_carer_forum", "role": "Parent carer forum co-chair"},
                ],
                "active": True,
            }
        }
    )
    partnership_id: uuid.UUID
    name: str
    kind: BoardKind
    chair_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    members: list[Member]
    active: bool


class BoardQuery(ListQuery):
    partnership_id: uuid.UUID | None = None
    kind: list[BoardKind] | None = Field(None, max_length=len(BoardKind), description="Repeat to match any of several.")
    active: bool | None = None


# Meetings ---------------------------------------------------------------------------------------


class MeetingCreate(Body):
    board_id: uuid.UUID | None = Field(None, description="The body that meets (required for a `board` meeting).")
    plan_id: uuid.UUID | None = Field(None, description="The plan the meeting reviews (required for an external review).")
    kind: MeetingKind = MeetingKind.board
    title: Title = Field(description="e.g. `Fifth DfE and NHS England review meeting`.")
    held_on: date
    status: MeetingStatus = MeetingStatus.scheduled
    attendees: list[Attendee] = Field(default_factory=list, max_length=200)
    apologies: list[Attendee] = Field(default_factory=list, max_length=200)
    paper_ids: LinkIds = Field(default_factory=list, max_length=100, description="Evidence items tabled as the meeting's papers.")
    evidence_due_on: date | None = Field(
        None,
        description="When the evidence for the meeting is due (default for DfE and NHS England reviews, stocktakes and deep "
        "dives: 14 days before, or the working day before that).",
    )
    feedback: LongText | None = Field(None, description="The reviewers' feedback (the outcome letter), once received.")
    feedback_received_on: date | None = None
    concern_outcomes: list[ConcernOutcome] = Field(default_factory=list, max_length=100, description="The review's outcome per concern.")

    _in_range = field_validator("held_on", "evidence_due_on", "feedback_received_on")(plan_date)

    @model_validator(mode="after")
    def _shape(self, info: ValidationInfo) -> Self:
        if self.kind is MeetingKind.board and self.board_id is None:
            raise ValueError("a board meeting names its board_id")
        if self.kind in EXTERNAL_REVIEWS and self.plan_id is None:
            raise ValueError("an external review names the plan_id it reviews")
        if self.concern_outcomes and self.plan_id is None:
            raise ValueError("concern_outcomes need the plan_id whose concerns they judge")
        # A patch that moves the meeting alone moves its evidence deadline with it (`MeetingRules`).
        if self.evidence_due_on is not None and self.evidence_due_on > self.held_on and touched(info, "evidence_due_on"):
            raise ValueError("evidence_due_on must not be after held_on")
        if self.feedback_received_on is not None and self.feedback_received_on < self.held_on:
            raise ValueError("feedback_received_on must not be before held_on: feedback follows the meeting")
        if self.status is not MeetingStatus.held and (self.concern_outcomes or self.feedback or self.feedback_received_on):
            raise ValueError("feedback and concern_outcomes are recorded once the meeting is held (status held)")
        judged = [o.concern_id for o in self.concern_outcomes]
        if len(judged) != len(set(judged)):
            raise ValueError("one outcome per concern")
        people = [a.person_id for a in self.attendees if a.person_id] + [a.person_id for a in self.apologies if a.person_id]
        if len(people) != len(set(people)):
            raise ValueError("each person is listed once, as an attendee or with apologies")
        return self


MeetingUpdate = patch_model("MeetingUpdate", MeetingCreate, exclude={"board_id", "plan_id"})


class MeetingRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": MEETING_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "board_id": None,
                "plan_id": PLAN_ID,
                "kind": "dfe_nhse_review",
                "title": "Fifth DfE and NHS England review meeting",
                "held_on": "2026-11-24",
                "status": "held",
                "attendees": [
                    {"person_id": CHAIR_ID, "name": None, "representing": "elected_member", "role": "Chair"},
                    {"person_id": None, "name": "DfE SEND adviser", "representing": "dfe", "role": None},
                    {"person_id": FORUM_ID, "name": None, "representing": "parent_carer_forum", "role": "Forum co-chair"},
                ],
                "apologies": [],
                "paper_ids": [],
                "evidence_due_on": "2026-11-10",
                "feedback": "Sufficient progress on timeliness; co-production with health still partial.",
                "feedback_received_on": "2026-12-01",
                "concern_outcomes": [{"concern_id": CONCERN_ID, "outcome": "sufficient_progress", "monitoring_ended": True, "note": None}],
                "parent_carer_forum_present": True,
            }
        }
    )
    partnership_id: uuid.UUID
    board_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    kind: MeetingKind
    title: str
    held_on: date
    status: MeetingStatus
    attendees: list[Attendee]
    apologies: list[Attendee]
    paper_ids: list[uuid.UUID]
    evidence_due_on: date | None
    feedback: str | None
    feedback_received_on: date | None
    concern_outcomes: list[ConcernOutcome]
    parent_carer_forum_present: bool = Field(description="Someone representing the parent carer forum attended.")


class MeetingQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    board_id: uuid.UUID | None = None
    kind: list[MeetingKind] | None = Field(None, max_length=len(MeetingKind), description="Repeat to match any of several.")
    status: list[MeetingStatus] | None = Field(None, max_length=len(MeetingStatus), description="Repeat to match any of several.")
    held_after: date | None = Field(None, description="Meetings held after this day.")
    held_before: date | None = Field(None, description="Meetings held before this day.")
    sort: Literal["created_at", "-created_at", "held_on", "-held_on"] = Field(  # type: ignore[assignment]
        "created_at", description="Order: by creation (default) or by the day held."
    )


# Decisions --------------------------------------------------------------------------------------


class DecisionCreate(Body):
    meeting_id: uuid.UUID
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    status: DecisionStatus = Field(DecisionStatus.agreed, description="`proposed` for a decision the meeting is asked to take.")
    action_ids: LinkIds = Field(default_factory=list, max_length=100)
    concern_ids: LinkIds = Field(default_factory=list, max_length=100)
    risk_ids: LinkIds = Field(default_factory=list, max_length=100)
    reprogramme_ids: LinkIds = Field(default_factory=list, max_length=100, description="Reprogrammes the decision approved.")


DecisionUpdate = patch_model("DecisionUpdate", DecisionCreate, exclude={"meeting_id"})


class DecisionRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": DECISION_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "meeting_id": MEETING_ID,
                "text": "Approved moving action 1.3 to 31 March: the EP recruitment round failed.",
                "status": "agreed",
                "action_ids": [ACTION_ID],
                "concern_ids": [],
                "risk_ids": [],
                "reprogramme_ids": [],
            }
        }
    )
    partnership_id: uuid.UUID
    meeting_id: uuid.UUID
    text: str
    status: DecisionStatus
    action_ids: list[uuid.UUID]
    concern_ids: list[uuid.UUID]
    risk_ids: list[uuid.UUID]
    reprogramme_ids: list[uuid.UUID]


class DecisionQuery(ListQuery):
    plan_id: uuid.UUID | None = Field(None, description="Decisions of meetings about this plan.")
    meeting_id: uuid.UUID | None = None
    status: list[DecisionStatus] | None = Field(None, max_length=len(DecisionStatus), description="Repeat to match any of several.")
    action_id: uuid.UUID | None = Field(None, description="Decisions that bear on this action.")
    concern_id: uuid.UUID | None = Field(None, description="Decisions that bear on this concern.")
    risk_id: uuid.UUID | None = Field(None, description="Decisions that bear on this risk.")


# Meeting actions --------------------------------------------------------------------------------


class MeetingActionCreate(Body):
    meeting_id: uuid.UUID
    title: Title
    owner_id: uuid.UUID | None = None
    due_on: date | None = None
    status: MeetingActionStatus = MeetingActionStatus.open
    completed_on: date | None = Field(None, description="When it was done (default: the day it is marked `done`).")
    note: LongText | None = None

    _in_range = field_validator("due_on", "completed_on")(plan_date)

    @model_validator(mode="after")
    def _done_when_done(self, info: ValidationInfo) -> Self:
        if self.completed_on is not None and self.status is not MeetingActionStatus.done and touched(info, "completed_on"):
            raise ValueError("completed_on is for a meeting action that is done")
        return self


MeetingActionUpdate = patch_model("MeetingActionUpdate", MeetingActionCreate, exclude={"meeting_id"})


class MeetingActionRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": MEETING_ACTION_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "meeting_id": MEETING_ID,
                "title": "Bring the EP recruitment options paper to the next meeting",
                "owner_id": CHAIR_ID,
                "due_on": "2026-12-08",
                "status": "open",
                "completed_on": None,
                "note": None,
                "is_overdue": False,
            }
        }
    )
    partnership_id: uuid.UUID
    meeting_id: uuid.UUID
    title: str
    owner_id: uuid.UUID | None
    due_on: date | None
    status: MeetingActionStatus
    completed_on: date | None
    note: str | None
    is_overdue: bool = Field(description="Open and past its due date (the partnership's today).")


class MeetingActionQuery(ListQuery):
    plan_id: uuid.UUID | None = Field(None, description="Actions of meetings about this plan.")
    meeting_id: uuid.UUID | None = None
    owner_id: uuid.UUID | Literal["me"] | None = Field(None, description="An owner's id, or `me` for the caller's own person.")
    status: list[MeetingActionStatus] | None = Field(
        None, max_length=len(MeetingActionStatus), description="Repeat to match any of several."
    )
