"""Evidence of delivery and impact: links to documents held elsewhere, or uploaded files with revisions."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, UTCDateTime, enum_check, enum_column
from app.models.enums import EvidenceKind, ReviewStatus


class Evidence(Entity, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["action_id", "partnership_id"], ["action.id", "action.partnership_id"]),
        ForeignKeyConstraint(["milestone_id"], ["milestone.id"]),
        ForeignKeyConstraint(["concern_id"], ["concern.id"]),
        ForeignKeyConstraint(["reviewed_by_id", "partnership_id"], ["person.id", "person.partnership_id"]),
        CheckConstraint(
            "(CASE WHEN action_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN milestone_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN concern_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
        enum_check("kind", EvidenceKind),
        enum_check("review_status", ReviewStatus),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "action_id"),
        Index(None, "milestone_id"),
        Index(None, "concern_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    action_id: uuid.UUID | None = None
    milestone_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = None
    title: str = Field(sa_type=String(300), nullable=False)
    kind: str = Field(sa_type=enum_column(EvidenceKind), nullable=False)
    description: str | None = Field(default=None, sa_type=Text)
    url: str | None = Field(default=None, sa_type=String(2000))
    evidence_on: date | None = None
    contains_personal_data: bool = Field(default=False, nullable=False)
    redacted: bool = Field(default=False, nullable=False)
    review_status: str = Field(default=ReviewStatus.submitted.value, sa_type=enum_column(ReviewStatus), nullable=False)
    reviewed_by_id: uuid.UUID | None = None
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str | None = Field(default=None, sa_type=Text)
    # The current file, copied from its latest revision (all null for a link).
    sha256: str | None = Field(default=None, sa_type=String(64))
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    media_type: str | None = Field(default=None, sa_type=String(200))
    file_name: str | None = Field(default=None, sa_type=String(255))
    revision: int = Field(default=0, nullable=False)


class EvidenceRevision(Entity, table=True):
    """Every file ever uploaded for a piece of evidence; a new upload never replaces the old bytes."""

    __tablename__ = "evidence_revision"
    __table_args__ = (
        UniqueConstraint("evidence_id", "revision"),
        ForeignKeyConstraint(["evidence_id", "partnership_id"], ["evidence.id", "evidence.partnership_id"]),
        Index(None, "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    evidence_id: uuid.UUID = Field(nullable=False)
    revision: int = Field(nullable=False)
    sha256: str = Field(sa_type=String(64), nullable=False)
    size_bytes: int = Field(sa_type=BigInteger, nullable=False)
    media_type: str = Field(sa_type=String(200), nullable=False)
    file_name: str | None = Field(default=None, sa_type=String(255))
    uploaded_by: str = Field(sa_type=String(100), nullable=False)
