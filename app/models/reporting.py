"""The monthly reporting cycle: periods, the return each action owner owes for one, and the e-mails that ask for
them (reminders, escalations), with the one-time links that let an owner file a return without a key."""

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, UTCDateTime, enum_check, enum_column
from app.models.enums import NotificationKind, NotificationStatus, PeriodStatus, Rag, ReturnStatus


class ReportingPeriod(Entity, table=True):
    """A month of delivery reported on at one Delivery Group meeting: its returns are due on `returns_due_on`."""

    __tablename__ = "reporting_period"
    __table_args__ = (
        UniqueConstraint("plan_id", "starts_on"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        enum_check("status", PeriodStatus),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("returns_due_on >= starts_on", name="due_after_start"),
        CheckConstraint("meeting_on IS NULL OR meeting_on >= returns_due_on", name="meeting_after_due"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "status", "returns_due_on"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    starts_on: date
    ends_on: date
    returns_due_on: date
    meeting_on: date | None = None
    status: str = Field(default=PeriodStatus.open.value, sa_type=enum_column(PeriodStatus), nullable=False)


class ActionReturn(Entity, table=True):
    """What an action's owner reports for a period, and the lead's review of it."""

    __tablename__ = "action_return"
    __table_args__ = (
        UniqueConstraint("period_id", "action_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["period_id", "partnership_id"], ["reporting_period.id", "reporting_period.partnership_id"]),
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"]),
        ForeignKeyConstraint(["owner_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        ForeignKeyConstraint(["submitted_by", "partnership_id"], ["person.id", "person.partnership_id"]),
        ForeignKeyConstraint(["progress_update_id"], ["progress_update.id"]),
        enum_check("status", ReturnStatus),
        enum_check("proposed_rag", Rag, nullable=True),
        enum_check("agreed_rag", Rag, nullable=True),
        CheckConstraint("percent_complete IS NULL OR (percent_complete >= 0 AND percent_complete <= 100)", name="percent_complete"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "owner_id", "status"),
        Index(None, "action_id", "created_at"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    period_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID = Field(nullable=False)
    owner_id: uuid.UUID | None = None  # addressed to: the action's owner when the period opened
    status: str = Field(default=ReturnStatus.expected.value, sa_type=enum_column(ReturnStatus), nullable=False)
    returns_due_on: date  # the period's, kept on the return so "my returns" sort without a join
    proposed_rag: str | None = Field(default=None, sa_type=enum_column(Rag))
    narrative: str | None = Field(default=None, sa_type=Text)
    percent_complete: int | None = None
    blockers: str | None = Field(default=None, sa_type=Text)
    next_steps: str | None = Field(default=None, sa_type=Text)
    proposed_forecast_on: date | None = None
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: uuid.UUID | None = None
    progress_update_id: uuid.UUID | None = None
    missed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # once missed, always on record (even if filed later)
    agreed_rag: str | None = Field(default=None, sa_type=enum_column(Rag))
    review_note: str | None = Field(default=None, sa_type=Text)
    reviewed_by: str | None = Field(default=None, sa_type=String(200))
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Notification(Entity, table=True):
    """One e-mail to one person about one return: queued once (`dedupe_key`), then sent by a worker that holds it for a
    while by moving `next_attempt_at` (its lease)."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        ForeignKeyConstraint(["return_id", "partnership_id"], ["action_return.id", "action_return.partnership_id"]),
        ForeignKeyConstraint(["person_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        enum_check("kind", NotificationKind),
        enum_check("status", NotificationStatus),
        Index(None, "status", "next_attempt_at"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "return_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    return_id: uuid.UUID | None = None
    person_id: uuid.UUID = Field(nullable=False)
    to_address: str = Field(sa_type=String(320), nullable=False)
    kind: str = Field(sa_type=enum_column(NotificationKind), nullable=False)
    reason: str = Field(sa_type=String(300), nullable=False)
    subject: str = Field(sa_type=String(300), nullable=False)
    dedupe_key: str = Field(sa_type=String(200), nullable=False)
    status: str = Field(default=NotificationStatus.pending.value, sa_type=enum_column(NotificationStatus), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)


class ReturnLink(Entity, table=True):
    """A one-time link in a reminder: files that one return, as its owner, until it expires or is used."""

    __tablename__ = "return_link"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        ForeignKeyConstraint(["return_id", "partnership_id"], ["action_return.id", "action_return.partnership_id"]),
        ForeignKeyConstraint(["person_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        Index(None, "return_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    return_id: uuid.UUID = Field(nullable=False)
    person_id: uuid.UUID = Field(nullable=False)  # filing through the link is audited as this person
    notification_id: uuid.UUID | None = None
    token_hash: str = Field(sa_type=String(64), nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
