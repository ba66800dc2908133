"""Request and response models of the engagement log."""

import uuid
from datetime import date
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LinkIds, LongText, Title, patch_model, plan_date
from app.models.enums import EngagementLevel, Participant

PLAN_ID = "7c6b5a49-3827-4165-9483-726150493827"
ENGAGEMENT_ID = "c5d6e7f8-0912-4a3b-8c4d-5e6f70819203"
CONCERN_ID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
EXAMPLE: dict[str, Any] = {
    "plan_id": PLAN_ID,
    "held_on": "2026-10-14",
    "title": "Co-design workshop: the new EHC needs assessment letters",
    "participants": ["parent_carer_forum", "parents_carers", "practitioners"],
    "participant_count": 18,
    "level": "co_design",
    "you_said": "Letters were full of jargon and did not say who to call.",
    "we_did": "Rewrote the six letters with the forum; each now names the case officer and a direct line.",
    "concern_ids": [CONCERN_ID],
}


class EngagementCreate(Body):
    plan_id: uuid.UUID
    held_on: date
    title: Title = Field(description="What the engagement was.")
    participants: list[Participant] = Field(min_length=1, max_length=len(Participant), description="Who took part.")
    participant_count: int | None = Field(None, ge=0, le=1_000_000, description="How many people took part, if counted.")
    level: EngagementLevel = Field(
        description="How far they shaped the work: `inform` (told), `consult` (asked), `co_design` (designed it with us), "
        "`co_produce` (an equal part in shaping, delivering and evaluating it)."
    )
    you_said: LongText | None = Field(None, description="What participants said.")
    we_did: LongText | None = Field(None, description="What was done about it.")
    concern_ids: LinkIds = Field(default_factory=list, max_length=100)
    action_ids: LinkIds = Field(default_factory=list, max_length=100)
    signs_off_export_id: uuid.UUID | None = Field(None, description="A pack of the plan the forum signed off at this engagement.")
    signs_off_period_id: uuid.UUID | None = Field(None, description="A reporting period whose return to the board the forum signed off.")
    sign_off_note: LongText | None = None

    _in_range = field_validator("held_on")(plan_date)

    @field_validator("participants")
    @classmethod
    def _once_each(cls, value: list[Participant]) -> list[Participant]:
        if len(set(value)) != len(value):
            raise ValueError("name each group once")
        return value

    @model_validator(mode="after")
    def _signed_by_the_forum(self) -> Self:
        signed = self.signs_off_export_id is not None or self.signs_off_period_id is not None
        if signed and Participant.parent_carer_forum not in self.participants:
            raise ValueError("a sign-off is the parent carer forum's: name it among the participants")
        return self


EngagementUpdate = patch_model("EngagementUpdate", EngagementCreate, exclude={"plan_id"})


class EngagementRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": ENGAGEMENT_ID,
                "created_at": "2026-10-15T09:00:00Z",
                "updated_at": "2026-10-15T09:00:00Z",
                "version": 1,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                **EXAMPLE,
                "action_ids": [],
                "signs_off_export_id": None,
                "signs_off_period_id": None,
                "sign_off_note": None,
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    held_on: date
    title: str
    participants: list[Participant]
    participant_count: int | None
    level: EngagementLevel
    you_said: str | None
    we_did: str | None
    concern_ids: list[uuid.UUID]
    action_ids: list[uuid.UUID]
    signs_off_export_id: uuid.UUID | None
    signs_off_period_id: uuid.UUID | None
    sign_off_note: str | None


class EngagementQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    level: list[EngagementLevel] | None = Field(None, max_length=len(EngagementLevel), description="Repeat to match any of several.")
    concern_id: uuid.UUID | None = Field(None, description="Engagements about this concern.")
    held_after: date | None = Field(None, description="Held after this day.")
    held_before: date | None = Field(None, description="Held before this day.")
    sort: Literal["created_at", "-created_at", "held_on", "-held_on"] = Field(  # type: ignore[assignment]
        "created_at", description="Order: by creation (default) or by the day held."
    )
