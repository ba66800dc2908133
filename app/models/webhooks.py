"""Webhook subscriptions and their deliveries, derived by the worker from the committed change feed."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, UTCDateTime, enum_check
from app.models.enums import DeliveryStatus


class WebhookSubscription(Entity, table=True):
    __tablename__ = "webhook_subscription"
    __table_args__ = (Index(None, "created_at", "id"), Index(None, "partnership_id", "created_at", "id"))

    partnership_id: uuid.UUID | None = Field(default=None, foreign_key="partnership.id")
    url: str = Field(sa_type=String(2000), nullable=False)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    secret: str = Field(sa_type=String(100), nullable=False)
    active: bool = Field(default=True, nullable=False)
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    change_cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # last change.seq fanned out


class WebhookDelivery(Entity, table=True):
    """One event for one subscriber: derived from a change-feed row and, as attempts are made, its delivery log."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        ForeignKeyConstraint(["subscription_id"], ["webhook_subscription.id"], ondelete="CASCADE"),
        enum_check("status", DeliveryStatus),
        Index(None, "status", "next_attempt_at"),
        Index(None, "subscription_id", "created_at"),
        Index(None, "created_at", "id"),
    )

    partnership_id: uuid.UUID | None = None
    subscription_id: uuid.UUID = Field(nullable=False)
    event_id: uuid.UUID = Field(nullable=False)
    event_type: str = Field(sa_type=String(60), nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    status: str = Field(default=DeliveryStatus.pending.value, sa_type=String(10), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
