"""What the plan promises: concerns, the actions that answer them, milestones and progress."""

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import Entity, UTCDateTime, enum_check, enum_column, utcnow
from app.models.enums import ActionStatus, ConcernKind, Judgement, MilestoneStatus, Priority, Rag


class Concern(Entity, table=True):
    __tablename__ = "concern"
    __table_args__ = (
        UniqueConstraint("plan_id", "ref"),
        UniqueConstraint("id", "plan_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        enum_check("kind", ConcernKind),
        enum_check("judgement", Judgement),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    ref: str = Field(sa_type=String(40), nullable=False)
    kind: str = Field(sa_type=enum_column(ConcernKind), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    verbatim_text: str | None = Field(default=None, sa_type=Text)
    theme: str | None = Field(default=None, sa_type=String(200))
    judgement: str = Field(default=Judgement.not_yet_assessed.value, sa_type=enum_column(Judgement), nullable=False)
    intended_outcome: str | None = Field(default=None, sa_type=Text)  # what will be different for children and families
    success_criteria: str | None = Field(default=None, sa_type=Text)


class Action(Entity, table=True):
    __tablename__ = "action"
    __table_args__ = (
        UniqueConstraint("plan_id", "ref"),
        UniqueConstraint("id", "plan_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["owner_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        ForeignKeyConstraint(["carried_from_id", "partnership_id"], ["action.id", "action.partnership_id"]),
        UniqueConstraint("carried_from_id"),
        enum_check("priority", Priority),
        enum_check("status", ActionStatus),
        CheckConstraint("due_on IS NULL OR planned_start_on IS NULL OR due_on >= planned_start_on", name="due_after_start"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    ref: str = Field(sa_type=String(40), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    description: str | None = Field(default=None, sa_type=Text)
    owner_id: uuid.UUID | None = Field(default=None, index=True)
    priority: str = Field(default=Priority.medium.value, sa_type=enum_column(Priority), nullable=False)
    status: str = Field(default=ActionStatus.not_started.value, sa_type=enum_column(ActionStatus), nullable=False)
    planned_start_on: date | None = None
    due_on: date | None = None
    baseline_due_on: date | None = None
    forecast_on: date | None = None
    completed_on: date | None = None
    success_criteria: str | None = Field(default=None, sa_type=Text)
    carried_from_id: uuid.UUID | None = None  # the predecessor plan's action this one carries on


class ActionConcern(SQLModel, table=True):
    """An action answers one or more concerns of its own plan (enforced by the composite keys)."""

    __tablename__ = "action_concern"
    __table_args__ = (
        PrimaryKeyConstraint("action_id", "concern_id"),
        ForeignKeyConstraint(["action_id", "plan_id"], ["action.id", "action.plan_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["concern_id", "plan_id"], ["concern.id", "concern.plan_id"]),
        Index(None, "concern_id"),
    )

    action_id: uuid.UUID
    concern_id: uuid.UUID
    plan_id: uuid.UUID = Field(nullable=False)


class ActionContributor(SQLModel, table=True):
    __tablename__ = "action_contributor"
    __table_args__ = (
        PrimaryKeyConstraint("action_id", "person_id"),
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["person_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        Index(None, "person_id"),
    )

    action_id: uuid.UUID
    person_id: uuid.UUID
    partnership_id: uuid.UUID = Field(nullable=False)


class ActionOrganisation(SQLModel, table=True):
    __tablename__ = "action_organisation"
    __table_args__ = (
        PrimaryKeyConstraint("action_id", "organisation_id"),
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["organisation_id", "partnership_id"], ["organisation.id", "organisation.partnership_id"]),
        Index(None, "organisation_id"),
    )

    action_id: uuid.UUID
    organisation_id: uuid.UUID
    partnership_id: uuid.UUID = Field(nullable=False)


class Milestone(Entity, table=True):
    __tablename__ = "milestone"
    __table_args__ = (
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"]),
        enum_check("status", MilestoneStatus),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "action_id", "due_on"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID = Field(nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    due_on: date
    status: str = Field(default=MilestoneStatus.pending.value, sa_type=enum_column(MilestoneStatus), nullable=False)
    met_on: date | None = None
    evidence_required: bool = Field(default=False, nullable=False)


class ProgressUpdate(Entity, table=True):
    """Append-only: an update is never edited or deleted, only followed by another."""

    __tablename__ = "progress_update"
    __table_args__ = (
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"]),
        ForeignKeyConstraint(["author_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        enum_check("rag", Rag),
        CheckConstraint("percent_complete IS NULL OR (percent_complete >= 0 AND percent_complete <= 100)", name="percent_complete"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "action_id", "created_at"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID = Field(nullable=False)
    author_id: uuid.UUID = Field(nullable=False)
    rag: str = Field(sa_type=enum_column(Rag), nullable=False)
    narrative: str = Field(sa_type=Text, nullable=False)
    percent_complete: int | None = None
    blockers: str | None = Field(default=None, sa_type=Text)
    next_steps: str | None = Field(default=None, sa_type=Text)


class ActionReprogramme(SQLModel, table=True):
    """A change to an accepted plan's due date: who moved it, from when to when and why. Append-only."""

    __tablename__ = "action_reprogramme"
    __table_args__ = (
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"], ondelete="CASCADE"),
        Index(None, "action_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partnership_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID = Field(nullable=False)
    previous_due_on: date | None = None
    new_due_on: date | None = None
    baseline_due_on: date | None = None
    reason: str = Field(sa_type=Text, nullable=False)
    approved_at_meeting: str | None = Field(default=None, sa_type=String(300))
    actor_type: str = Field(sa_type=String(20), nullable=False)
    actor_id: str = Field(sa_type=String(100), nullable=False)
    person_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
