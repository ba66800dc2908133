"""Progress packs: immutable exports of a plan as it stood on a date, and links that share them."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, UTCDateTime, enum_check, enum_column
from app.models.enums import Audience, ExportFormat, ExportStatus


class Export(Entity, table=True):
    """The bytes live in the content-addressed store under `sha256`; once ready, nothing here changes.

    `checkpoint_seq` and `checkpoint_hash` name the newest signed audit checkpoint when the export was requested
    (`app.audit.checkpoints`): the trail the pack was built from is vouched for up to there, outside the database.
    """

    __tablename__ = "export"
    __table_args__ = (
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"]),
        ForeignKeyConstraint(["meeting_id", "partnership_id"], ["meeting.id", "meeting.partnership_id"]),
        CheckConstraint("since IS NULL OR since < as_of", name="since_before_as_of"),
        enum_check("format", ExportFormat),
        enum_check("audience", Audience),
        enum_check("status", ExportStatus),
        CheckConstraint("status <> 'ready' OR (sha256 IS NOT NULL AND size_bytes IS NOT NULL)", name="ready_has_content"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "plan_id", "created_at"),
        Index(None, "status", "created_at"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    plan_id: uuid.UUID = Field(nullable=False)
    format: str = Field(sa_type=enum_column(ExportFormat), nullable=False)
    audience: str = Field(sa_type=enum_column(Audience), nullable=False)
    as_of: date
    status: str = Field(default=ExportStatus.pending.value, sa_type=enum_column(ExportStatus), nullable=False)
    sha256: str | None = Field(default=None, sa_type=String(64))
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    media_type: str = Field(sa_type=String(100), nullable=False)
    file_name: str = Field(sa_type=String(255), nullable=False)
    error: str | None = Field(default=None, sa_type=Text)
    created_by: str = Field(sa_type=String(100), nullable=False)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # a worker is producing it (a lease)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkpoint_seq: int | None = Field(default=None, sa_type=BigInteger)
    checkpoint_hash: str | None = Field(default=None, sa_type=String(64))
    since: date | None = None  # the pack adds what changed since this day
    meeting_id: uuid.UUID | None = Field(default=None, index=True)  # a meeting's pack


class ShareLink(Entity, table=True):
    """A bearer link to one export; only the token's SHA-256 is kept."""

    __tablename__ = "share_link"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        ForeignKeyConstraint(["export_id", "partnership_id"], ["export.id", "export.partnership_id"]),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
        Index(None, "export_id"),
    )

    partnership_id: uuid.UUID = Field(nullable=False)
    export_id: uuid.UUID = Field(nullable=False)
    token_hash: str = Field(sa_type=String(64), nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(sa_type=String(100), nullable=False)
    access_count: int = Field(default=0, nullable=False)
    last_accessed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
