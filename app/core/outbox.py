"""The webhook outbox: each change becomes a delivery per matching subscription, in the change's transaction.

A change that rolls back leaves no delivery behind, and a committed change always has its deliveries:
`wsoa worker` sends them later, at least once (see app.integrations.worker).
"""

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import WebhookDelivery, WebhookSubscription, utcnow

PAST = {"create": "created", "update": "updated", "delete": "deleted"}
UNPUBLISHED = {"webhook_subscription"}  # subscribers hear about the plan, not about the webhook machinery


class Event(Protocol):
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> uuid.UUID: ...
    @property
    def action(self) -> str: ...
    @property
    def partnership_id(self) -> uuid.UUID | None: ...
    @property
    def plan_id(self) -> uuid.UUID | None: ...
    @property
    def event(self) -> str | None: ...


def event_type(change: Event) -> str:
    return change.event or f"{change.entity_type}.{PAST.get(change.action, change.action)}"


async def enqueue(session: AsyncSession, changes: Sequence[Event]) -> None:
    changes = [c for c in changes if c.entity_type not in UNPUBLISHED]
    if not changes:
        return
    partnerships = {c.partnership_id for c in changes}
    subscriptions = (
        await session.execute(
            select(col(WebhookSubscription.id), col(WebhookSubscription.partnership_id), col(WebhookSubscription.event_types)).where(
                col(WebhookSubscription.active).is_(True),
                or_(
                    col(WebhookSubscription.partnership_id).is_(None),
                    col(WebhookSubscription.partnership_id).in_([p for p in partnerships if p]),
                ),
            )
        )
    ).all()
    if not subscriptions:
        return
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for change in changes:
        kind = event_type(change)
        payload = {
            "type": kind,
            "id": str(change.entity_id),
            "plan_id": str(change.plan_id) if change.plan_id else None,
            "occurred_at": now.isoformat(),
        }
        event_id = uuid.uuid4()
        for sub_id, sub_partnership, types in subscriptions:
            if sub_partnership not in (None, change.partnership_id) or (types and kind not in types):
                continue
            rows.append({"id": uuid.uuid4(), "partnership_id": change.partnership_id, "subscription_id": sub_id, "event_id": event_id,
                         "event_type": kind, "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now,
                         "created_at": now, "updated_at": now, "version": 1})  # fmt: skip
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
