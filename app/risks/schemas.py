"""Request and response models of the risk register."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LinkIds, LongText, Ref, Title, patch_model, plan_date
from app.models.enums import MitigationStatus, RiskStatus

PLAN_ID = "7c6b5a49-3827-4165-9483-726150493827"
RISK_ID = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
ACTION_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
PERSON_ID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b"
Rating = Annotated[int, Field(ge=1, le=5)]
Score = Annotated[int, Field(ge=1, le=25)]


class Mitigation(Body):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    status: MitigationStatus = MitigationStatus.planned
    action_id: uuid.UUID | None = Field(None, description="The plan's action that carries the mitigation out, if one does.")
    due_on: date | None = None

    _in_range = field_validator("due_on")(plan_date)


class RiskCreate(Body):
    plan_id: uuid.UUID
    ref: Ref = Field(description="Unique within the plan, e.g. `R3`.")
    title: Title
    description: LongText | None = None
    cause: LongText | None = None
    consequence: LongText | None = None
    owner_id: uuid.UUID | None = None
    likelihood: Rating = Field(description="1 (rare) to 5 (almost certain).")
    impact: Rating = Field(description="1 (negligible) to 5 (severe).")
    target_score: Score | None = Field(None, description="The score the partnership aims to bring the risk down to.")
    mitigations: list[Mitigation] = Field(default_factory=list, max_length=50)
    action_ids: LinkIds = Field(default_factory=list, max_length=100, description="Actions of the same plan the risk bears on.")
    concern_ids: LinkIds = Field(default_factory=list, max_length=100, description="Concerns of the same plan it bears on.")
    review_on: date | None = Field(None, description="When the risk is next to be reviewed; an open risk past it is an alert.")
    status: RiskStatus = RiskStatus.open

    _in_range = field_validator("review_on")(plan_date)


RiskUpdate = patch_model("RiskUpdate", RiskCreate, exclude={"plan_id"})


class RiskRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": RISK_ID,
                "created_at": "2026-06-01T09:00:00Z",
                "updated_at": "2026-11-03T09:00:00Z",
                "version": 3,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "plan_id": PLAN_ID,
                "ref": "R2",
                "title": "Educational psychology capacity",
                "description": "Too few educational psychologists to give advice within six weeks.",
                "cause": "Two vacancies and rising requests.",
                "consequence": "EHC plans miss the 20-week deadline.",
                "owner_id": PERSON_ID,
                "likelihood": 4,
                "impact": 4,
                "score": 16,
                "target_score": 8,
                "above_target": True,
                "mitigations": [
                    {
                        "text": "Commission sessions from the neighbouring authority",
                        "status": "in_progress",
                        "action_id": ACTION_ID,
                        "due_on": "2027-01-31",
                    }
                ],
                "action_ids": [ACTION_ID],
                "concern_ids": [],
                "review_on": "2026-12-03",
                "last_reviewed_on": "2026-11-03",
                "status": "open",
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    ref: str
    title: str
    description: str | None
    cause: str | None
    consequence: str | None
    owner_id: uuid.UUID | None
    likelihood: int
    impact: int
    score: int = Field(description="likelihood × impact.")
    target_score: int | None
    above_target: bool = Field(description="The score is above the target score.")
    mitigations: list[Mitigation]
    action_ids: list[uuid.UUID]
    concern_ids: list[uuid.UUID]
    review_on: date | None
    last_reviewed_on: date | None = Field(description="When the risk was last rated or given its next review date.")
    status: RiskStatus


class RiskQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    status: list[RiskStatus] | None = Field(None, max_length=len(RiskStatus), description="Repeat to match any of several.")
    owner_id: uuid.UUID | Literal["me"] | None = Field(None, description="An owner's id, or `me` for the caller's own person.")


class RatingRead(BaseModel):
    id: uuid.UUID
    risk_id: uuid.UUID
    rated_on: date
    likelihood: int
    impact: int
    score: int
    target_score: int | None
    actor_type: str
    actor_id: str
    created_at: datetime


class RatingPage(Body):
    items: list[RatingRead]
    next_cursor: str | None = Field(None, description="Always null: a risk's ratings come in one page.")


class RatingQuery(Body):
    """No parameters; unknown ones are rejected like any list's."""
