"""Request and response models of impact statements."""

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LinkIds, patch_model, plan_date
from app.models.enums import ImpactJudgement, Rag

CONCERN_ID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
STATEMENT_ID = "e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f"
PERIOD_ID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
NARRATIVE = (
    "Families now wait 17 weeks on average for a final plan, down from 31 in March. The parent carer forum's survey "
    "says more families know who their case officer is (62%, from 35%)."
)
REASON = "Timeliness is above 60% for three months running, but short of the 90% the plan aims for."


class ImpactStatementCreate(Body):
    concern_id: uuid.UUID
    period_id: uuid.UUID | None = Field(
        None, description="The reporting period the statement is for (at most one statement per concern and period)."
    )
    as_of: date | None = Field(
        None,
        description="The date the statement describes (default: the period's last day, or today while the period runs; "
        "without a period, today). Never after the partnership's today.",
    )
    narrative: Text = Field(description="What has changed for children, young people and families.")
    judgement: ImpactJudgement = Field(description="The partnership's own judgement of the concern's progress.")
    judgement_reason: Text = Field(description="Why: what the judgement rests on.")
    evidence_ids: LinkIds = Field(default_factory=list, max_length=100, description="Evidence the statement rests on.")
    measure_ids: LinkIds = Field(default_factory=list, max_length=100, description="Measures of the same plan it rests on.")
    author_id: uuid.UUID | None = Field(None, description="Who wrote it (default: the person the caller's key acts as).")

    _in_range = field_validator("as_of")(plan_date)


class ImpactStatementState(ImpactStatementCreate):
    """A statement as a whole, checked after a change."""


ImpactStatementUpdate = patch_model("ImpactStatementUpdate", ImpactStatementCreate, exclude={"concern_id", "period_id"})


class ImpactStatementRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": STATEMENT_ID,
                "created_at": "2026-11-30T16:00:00Z",
                "updated_at": "2026-11-30T16:00:00Z",
                "version": 1,
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
                "concern_id": CONCERN_ID,
                "period_id": PERIOD_ID,
                "as_of": "2026-11-30",
                "narrative": NARRATIVE,
                "judgement": "partial_progress",
                "judgement_reason": REASON,
                "evidence_ids": ["0f1e2d3c-4b5a-4697-8877-665544332211"],
                "measure_ids": ["5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"],
                "author_id": "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b",
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    concern_id: uuid.UUID
    period_id: uuid.UUID | None
    as_of: date
    narrative: str
    judgement: ImpactJudgement
    judgement_reason: str
    evidence_ids: list[uuid.UUID]
    measure_ids: list[uuid.UUID]
    author_id: uuid.UUID | None


class ImpactStatementQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    period_id: uuid.UUID | None = None
    judgement: list[ImpactJudgement] | None = Field(None, max_length=len(ImpactJudgement), description="Repeat to match any of several.")


class LatestImpact(BaseModel):
    """A concern's latest impact statement, as the concern, the summary and every pack show it."""

    id: uuid.UUID
    as_of: date
    period_id: uuid.UUID | None
    judgement: ImpactJudgement
    judgement_reason: str
    narrative: str


class ConcernImpact(BaseModel):
    latest_impact: LatestImpact | None = Field(description="The latest impact statement (by `as_of`), or null before the first.")
    impact_rag: Rag | None = Field(
        description="From the latest self-assessed judgement: green sufficient, amber partial, red insufficient progress; null "
        "before the first statement. Kept apart from the delivery RAG of the concern's actions."
    )
