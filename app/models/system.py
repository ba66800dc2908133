"""Service bookkeeping: API keys, remembered idempotent requests and the audit trail."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, SmallInteger, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import BigId, Entity, UTCDateTime, enum_check, enum_column, utcnow
from app.models.enums import Role


class ApiKey(Entity, table=True):
    """A bearer token `wsoa_<prefix>_<secret>`; only the SHA-256 of the whole token is kept."""

    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("prefix"),
        enum_check("role", Role),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    prefix: str = Field(sa_type=String(16), nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    role: str = Field(sa_type=enum_column(Role), nullable=False)
    token_hash: str = Field(sa_type=String(64), nullable=False)
    partnership_id: uuid.UUID | None = Field(default=None, foreign_key="partnership.id")
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
    expires_on: date | None = None
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a POST with an `Idempotency-Key`, replayed for retries within the TTL."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    scope: str = Field(sa_type=String(64), nullable=False)
    key: str = Field(sa_type=String(255), nullable=False)
    method: str = Field(sa_type=String(10), nullable=False)
    path: str = Field(sa_type=Text, nullable=False)
    request_hash: str = Field(sa_type=String(64), nullable=False)
    completed: bool = Field(default=False, nullable=False)
    response_status: int | None = None
    response_headers: list[Any] | None = Field(default=None, sa_type=JSON)
    response_body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class AuditEvent(SQLModel, table=True):
    """One row per write, appended with the write's commit, chained by SHA-256 (see app.core.audit)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        Index(None, "partnership_id", "seq"),
        Index(None, "partnership_id", "occurred_at"),
    )

    seq: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_type: str = Field(sa_type=String(20), nullable=False)
    actor_id: str = Field(sa_type=String(100), nullable=False)
    person_id: uuid.UUID | None = None
    request_id: str | None = Field(default=None, sa_type=String(200))
    action: str = Field(sa_type=String(20), nullable=False)
    entity_type: str = Field(sa_type=String(40), nullable=False)
    entity_id: uuid.UUID = Field(nullable=False)
    partnership_id: uuid.UUID | None = None
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    prev_hash: str = Field(sa_type=String(64), nullable=False)
    hash: str = Field(sa_type=String(64), nullable=False)
    hash_format: int = Field(default=2, sa_column=Column(SmallInteger, nullable=False, server_default="1"))  # see app.core.audit


class Change(SQLModel, table=True):
    """One row per committed change to a resource, numbered in commit order (the change feed)."""

    __tablename__ = "change"
    __table_args__ = (Index(None, "partnership_id", "seq"),)

    seq: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    entity_type: str = Field(sa_type=String(40), nullable=False)
    entity_id: uuid.UUID = Field(nullable=False)
    action: str = Field(sa_type=String(20), nullable=False)
    version: int | None = None
    partnership_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    event_type: str | None = Field(default=None, sa_type=String(60))  # the webhook event type (`person.left`, `action.updated`)


class RateLimitWindow(SQLModel, table=True):
    """Requests counted per key and minute, shared by every process (see app.core.ratelimit)."""

    __tablename__ = "rate_limit_window"
    __table_args__ = (Index(None, "minute"),)

    key: str = Field(sa_type=String(120), primary_key=True)
    minute: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))  # minutes since the Unix epoch
    count: int = Field(default=0, nullable=False)
