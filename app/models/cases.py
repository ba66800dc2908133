"""EHC needs assessment case events from the council's case system (pseudonymous, append-only)."""

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import BigId, UTCDateTime, enum_check, enum_column, utcnow
from app.models.enums import CaseEventType


class CaseEvent(SQLModel, table=True):
    """`case_key` is HMAC-SHA256 of the case system's reference: the reference itself is never stored."""

    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("partnership_id", "event_id"),
        enum_check("type", CaseEventType),
        Index(None, "partnership_id", "case_key"),
        Index(None, "partnership_id", "type", "occurred_on"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    event_id: str = Field(sa_type=String(100), nullable=False)
    case_key: str = Field(sa_type=String(64), nullable=False)
    type: str = Field(sa_type=enum_column(CaseEventType), nullable=False)
    occurred_on: date
    outcome: str | None = Field(default=None, sa_type=String(20))
    reason: str | None = Field(default=None, sa_type=String(1))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ServerSecret(SQLModel, table=True):
    """Keys the service generates for itself when none is configured (see app.cases.keys)."""

    __tablename__ = "server_secret"

    name: str = Field(sa_type=String(50), primary_key=True)
    value: str = Field(sa_type=String(200), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
