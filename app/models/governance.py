"""What inspectors and advisers judge beside delivery: the impact each concern has had on children and families,
the governance that holds people to account (boards, meetings, decisions, meeting actions, external reviews), the
risk register and the co-production log."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from app.models.base import Entity, UTCDateTime, enum_check, enum_column, utcnow
from app.models.enums import (
    BoardKind,
    DecisionStatus,
    EngagementLevel,
    ImpactJudgement,
    MeetingActionStatus,
    MeetingKind,
    MeetingStatus,
    RiskStatus,
)


def _plan_link(name: str, owner: str, owner_table: str, column: str, target: str) -> Any:
    """A many-to-many link between two rows of one plan (both sides' composite keys hold them to it)."""
    return type(
        name,
        (SQLModel,),
        {
            "__tablename__": f"{owner_table}_{target}",
            "__table_args__": (
                PrimaryKeyConstraint(owner, column),
                ForeignKeyConstraint([owner, "plan_id"], [f"{owner_table}.id", f"{owner_table}.plan_id"], ondelete="CASCADE"),
                ForeignKeyConstraint([column, "plan_id"], [f"{target}.id", f"{target}.plan_id"]),
                Index(None, column),
            ),
            "__annotations__": {owner: uuid.UUID, column: uuid.UUID, "plan_id": uuid.UUID},
            "plan_id": Field(nullable=False),
        },
        table=True,
    )


def _partnership_link(name: str, owner: str, owner_table: str, column: str, target: str, *, scoped: bool = True) -> Any:
    """A many-to-many link between rows of one partnership (`scoped`: the target's composite key holds it too)."""
    target_key = ForeignKeyConstraint([column, "partnership_id"], [f"{target}.id", f"{target}.partnership_id"])
    return type(
        name,
        (SQLModel,),
        {
            "__tablename__": f"{owner_table}_{target}",
            "__table_args__": (
                PrimaryKeyConstraint(owner, column),
                ForeignKeyConstraint([owner, "partnership_id"], [f"{owner_table}.id", f"{owner_table}.partnership_id"], ondelete="CASCADE"),
                target_key if scoped else ForeignKeyConstraint([column], [f"{target}.id"]),
                Index(None, column),
            ),
            "__annotations__": {owner: uuid.UUID, column: uuid.UUID, "partnership_id": uuid.UUID},
            "partnership_id": Field(nullable=False),
        },
        table=True,
    )


# Impact ---------------------------------------------------------------------------------------


class ImpactStatement(Entity, table=True):
    """What has changed for children, young people and families under one concern, as the partnership judges it at a
    date (and for a reporting period, at most one per concern and period)."""

    __tablename__ = "impact_statement"
    __table_args__ = (
        UniqueConstraint("concern_id", "period_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["concern_id", "plan_id"], ["concern.id", "concern.plan_id"]),
        ForeignKeyConstraint(["period_id", "partnership_id"], ["reporting_period.id", "reporting_period.partnership_id"]),
        ForeignKeyConstraint(["author_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        enum_check("judgement", ImpactJudgement),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "concern_id", "as_of"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    concern_id: uuid.UUID = Field(nullable=False)
    period_id: uuid.UUID | None = None
    as_of: date
    narrative: str = Field(sa_type=Text, nullable=False)
    judgement: str = Field(sa_type=enum_column(ImpactJudgement), nullable=False)
    judgement_reason: str = Field(sa_type=Text, nullable=False)
    author_id: uuid.UUID | None = None


ImpactStatementEvidence = _partnership_link("ImpactStatementEvidence", "impact_statement_id", "impact_statement", "evidence_id", "evidence")


class ImpactStatementMeasure(SQLModel, table=True):
    __tablename__ = "impact_statement_measure"
    __table_args__ = (
        PrimaryKeyConstraint("impact_statement_id", "measure_id"),
        ForeignKeyConstraint(["impact_statement_id"], ["impact_statement.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["measure_id", "plan_id"], ["measure.id", "measure.plan_id"]),
        Index(None, "measure_id"),
    )

    impact_statement_id: uuid.UUID
    measure_id: uuid.UUID
    plan_id: uuid.UUID = Field(nullable=False)


# Risks ----------------------------------------------------------------------------------------


class Risk(Entity, table=True):
    """A risk to the plan's delivery or impact: scored likelihood × impact (1–5 each), against a target score."""

    __tablename__ = "risk"
    __table_args__ = (
        UniqueConstraint("plan_id", "ref"),
        UniqueConstraint("id", "plan_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["owner_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        enum_check("status", RiskStatus),
        CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact"),
        CheckConstraint("score = likelihood * impact", name="score"),
        CheckConstraint("target_score IS NULL OR target_score BETWEEN 1 AND 25", name="target_score"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    ref: str = Field(sa_type=String(40), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    description: str | None = Field(default=None, sa_type=Text)
    cause: str | None = Field(default=None, sa_type=Text)
    consequence: str | None = Field(default=None, sa_type=Text)
    owner_id: uuid.UUID | None = None
    likelihood: int = Field(sa_type=SmallInteger, nullable=False)
    impact: int = Field(sa_type=SmallInteger, nullable=False)
    score: int = Field(sa_type=SmallInteger, nullable=False)
    target_score: int | None = Field(default=None, sa_type=SmallInteger)
    mitigations: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    review_on: date | None = None
    last_reviewed_on: date | None = None
    status: str = Field(default=RiskStatus.open.value, sa_type=enum_column(RiskStatus), nullable=False)


class RiskRating(SQLModel, table=True):
    """Every rating a risk has had, oldest first: the trend of its score. Append-only."""

    __tablename__ = "risk_rating"
    __table_args__ = (
        ForeignKeyConstraint(["risk_id", "partnership_id"], ["risk.id", "risk.partnership_id"], ondelete="CASCADE"),
        Index(None, "risk_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partnership_id: uuid.UUID = Field(nullable=False)
    risk_id: uuid.UUID = Field(nullable=False)
    rated_on: date
    likelihood: int = Field(sa_type=SmallInteger, nullable=False)
    impact: int = Field(sa_type=SmallInteger, nullable=False)
    score: int = Field(sa_type=SmallInteger, nullable=False)
    target_score: int | None = Field(default=None, sa_type=SmallInteger)
    actor_type: str = Field(sa_type=String(20), nullable=False)
    actor_id: str = Field(sa_type=String(100), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


RiskAction = _plan_link("RiskAction", "risk_id", "risk", "action_id", "action")
RiskConcern = _plan_link("RiskConcern", "risk_id", "risk", "concern_id", "concern")


# Governance -----------------------------------------------------------------------------------


class Board(Entity, table=True):
    """A governance body of the partnership: improvement board, Delivery Group, workstream group, Cabinet, ICB board,
    scrutiny; its chair and its members, each with whom they represent."""

    __tablename__ = "board"
    __table_args__ = (
        UniqueConstraint("partnership_id", "name"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["chair_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        ForeignKeyConstraint(["parent_id", "partnership_id"], ["board.id", "board.partnership_id"]),
        enum_check("kind", BoardKind),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    kind: str = Field(sa_type=enum_column(BoardKind), nullable=False)
    chair_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None  # the body it reports to
    members: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    active: bool = Field(default=True, nullable=False)


class Meeting(Entity, table=True):
    """A meeting of a board, or an external review of the plan (a DfE/NHS England review meeting, a stocktake or deep
    dive, an Ofsted/CQC revisit or monitoring visit) with its evidence deadline, feedback and outcome per concern."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["board_id", "partnership_id"], ["board.id", "board.partnership_id"]),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        enum_check("kind", MeetingKind),
        enum_check("status", MeetingStatus),
        CheckConstraint("kind <> 'board' OR board_id IS NOT NULL", name="board_meeting_has_board"),
        CheckConstraint("evidence_due_on IS NULL OR evidence_due_on <= held_on", name="evidence_before_meeting"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "held_on"),
        Index(None, "board_id", "held_on"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID | None = None
    board_id: uuid.UUID | None = None
    kind: str = Field(default=MeetingKind.board.value, sa_type=enum_column(MeetingKind), nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    held_on: date
    status: str = Field(default=MeetingStatus.scheduled.value, sa_type=enum_column(MeetingStatus), nullable=False)
    attendees: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    apologies: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    evidence_due_on: date | None = None
    feedback: str | None = Field(default=None, sa_type=Text)
    feedback_received_on: date | None = None
    concern_outcomes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)


MeetingPaper = _partnership_link("MeetingPaper", "meeting_id", "meeting", "evidence_id", "evidence")


class Decision(Entity, table=True):
    """What a meeting decided (or is asked to decide, while `proposed`), and what it bears on."""

    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["meeting_id", "partnership_id"], ["meeting.id", "meeting.partnership_id"]),
        enum_check("status", DecisionStatus),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "meeting_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    meeting_id: uuid.UUID = Field(nullable=False)
    text: str = Field(sa_type=Text, nullable=False)
    status: str = Field(default=DecisionStatus.agreed.value, sa_type=enum_column(DecisionStatus), nullable=False)


DecisionAction = _partnership_link("DecisionAction", "decision_id", "decision", "action_id", "action")
DecisionConcern = _partnership_link("DecisionConcern", "decision_id", "decision", "concern_id", "concern", scoped=False)
DecisionRisk = _partnership_link("DecisionRisk", "decision_id", "decision", "risk_id", "risk")
DecisionReprogramme = _partnership_link(
    "DecisionReprogramme", "decision_id", "decision", "reprogramme_id", "action_reprogramme", scoped=False
)


class MeetingAction(Entity, table=True):
    """Something a meeting asked someone to do by a date: it shows in its owner's work, and as an alert when late."""

    __tablename__ = "meeting_action"
    __table_args__ = (
        ForeignKeyConstraint(["meeting_id", "partnership_id"], ["meeting.id", "meeting.partnership_id"]),
        ForeignKeyConstraint(["owner_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        enum_check("status", MeetingActionStatus),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "meeting_id"),
        Index(None, "owner_id", "status"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    meeting_id: uuid.UUID = Field(nullable=False)
    title: str = Field(sa_type=String(300), nullable=False)
    owner_id: uuid.UUID | None = None
    due_on: date | None = None
    status: str = Field(default=MeetingActionStatus.open.value, sa_type=enum_column(MeetingActionStatus), nullable=False)
    completed_on: date | None = None
    note: str | None = Field(default=None, sa_type=Text)


# Co-production --------------------------------------------------------------------------------


class Engagement(Entity, table=True):
    """One piece of engagement or co-production with families, young people, schools or practitioners: who took part,
    how far they shaped the work (`level`), what they said and what was done about it."""

    __tablename__ = "engagement"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        UniqueConstraint("id", "plan_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["signs_off_export_id", "partnership_id"], ["export.id", "export.partnership_id"]),
        ForeignKeyConstraint(["signs_off_period_id", "partnership_id"], ["reporting_period.id", "reporting_period.partnership_id"]),
        enum_check("level", EngagementLevel),
        CheckConstraint("participant_count IS NULL OR participant_count >= 0", name="participant_count"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "held_on"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    held_on: date
    title: str = Field(sa_type=String(300), nullable=False)
    participants: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    participant_count: int | None = None
    level: str = Field(sa_type=enum_column(EngagementLevel), nullable=False)
    you_said: str | None = Field(default=None, sa_type=Text)
    we_did: str | None = Field(default=None, sa_type=Text)
    signs_off_export_id: uuid.UUID | None = None  # the pack the forum signed off at this engagement
    signs_off_period_id: uuid.UUID | None = None  # or the period's return to the board
    sign_off_note: str | None = Field(default=None, sa_type=Text)


EngagementConcern = _plan_link("EngagementConcern", "engagement_id", "engagement", "concern_id", "concern")
EngagementAction = _plan_link("EngagementAction", "engagement_id", "engagement", "action_id", "action")
