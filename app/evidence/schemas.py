"""Request and response models: evidence and its file revisions."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LongText, Title, patch_model
from app.models.enums import EvidenceKind, ReviewStatus
from app.plans.schemas import ACTION_ID, PARTNERSHIP_ID, PERSON_ID, STAMP, Url

SUBJECTS = ("action_id", "milestone_id", "concern_id")
EVIDENCE_ID = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"
SHA = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"


class EvidenceCreate(Body):
    action_id: uuid.UUID | None = Field(None, description="Exactly one of action_id, milestone_id and concern_id.")
    milestone_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    title: Title
    kind: EvidenceKind
    description: LongText | None = None
    url: Url | None = Field(None, description="Where the document lives (the council's document store); or upload a file.")
    evidence_on: date | None = Field(None, description="The date the evidence speaks for (not the upload date).")
    contains_personal_data: bool = False
    redacted: bool = Field(False, description="Personal data has been removed; only then may it leave the building.")

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if sum(getattr(self, name) is not None for name in SUBJECTS) != 1:
            raise ValueError("give exactly one of action_id, milestone_id and concern_id")
        return self


class EvidenceState(EvidenceCreate):
    """The writable state as a whole, review included (what a merge patch is validated against)."""

    review_status: ReviewStatus = ReviewStatus.submitted
    review_note: LongText | None = None

    @model_validator(mode="after")
    def _note_on_rejection(self) -> Self:
        if self.review_status == ReviewStatus.rejected and not self.review_note:
            raise ValueError("a rejection needs a review_note saying why")
        return self


EvidenceUpdate = patch_model(
    "EvidenceUpdate", EvidenceState, exclude=set(SUBJECTS), doc="Merge patch for evidence; review fields are the lead's."
)


class EvidenceRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": EVIDENCE_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "action_id": ACTION_ID,
                "milestone_id": None,
                "concern_id": None,
                "title": "SEND Delivery Group minutes, March",
                "kind": "minutes",
                "description": "Minutes recording the backlog review.",
                "url": None,
                "evidence_on": "2018-03-14",
                "contains_personal_data": False,
                "redacted": False,
                "review_status": "accepted",
                "reviewed_by_id": PERSON_ID,
                "reviewed_at": "2018-03-20T09:12:00Z",
                "review_note": "Shows the trajectory agreed.",
                "sha256": SHA,
                "size_bytes": 182734,
                "media_type": "application/pdf",
                "file_name": "delivery-group-minutes-march.pdf",
                "revision": 1,
                "availability": "available",
            }
        }
    )
    partnership_id: uuid.UUID
    action_id: uuid.UUID | None
    milestone_id: uuid.UUID | None
    concern_id: uuid.UUID | None
    title: str
    kind: EvidenceKind
    description: str | None
    url: str | None
    evidence_on: date | None
    contains_personal_data: bool
    redacted: bool
    review_status: ReviewStatus
    reviewed_by_id: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str | None
    sha256: str | None = Field(description="SHA-256 of the current file (null for a link).")
    size_bytes: int | None
    media_type: str | None
    file_name: str | None
    revision: int = Field(description="Number of files uploaded so far (0 for a link).")
    availability: Literal["available", "held_locally"] = Field(
        description="`held_locally` when it contains personal data and is not redacted: never exported, not downloadable by inspectors."
    )


class EvidenceQuery(ListQuery):
    action_id: uuid.UUID | None = None
    milestone_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    kind: EvidenceKind | None = None
    review_status: ReviewStatus | None = None
    contains_personal_data: bool | None = None


class RevisionRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                **{**STAMP, "version": 1},
                "partnership_id": PARTNERSHIP_ID,
                "evidence_id": EVIDENCE_ID,
                "revision": 1,
                "sha256": SHA,
                "size_bytes": 182734,
                "media_type": "application/pdf",
                "file_name": "delivery-group-minutes-march.pdf",
                "uploaded_by": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1aa",
            }
        }
    )
    partnership_id: uuid.UUID
    evidence_id: uuid.UUID
    revision: int
    sha256: str
    size_bytes: int
    media_type: str
    file_name: str | None
    uploaded_by: str


class RevisionPage(Body):
    items: list[RevisionRead]
    next_cursor: str | None


FileName = Annotated[str, StringConstraints(max_length=255)]
EXAMPLES: dict[str, Any] = {
    "create": {"action_id": ACTION_ID, "title": "SEND Delivery Group minutes, March", "kind": "minutes", "evidence_on": "2018-03-14"}
}
