"""Audit events, written in the same transaction as the change they describe."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Actor
from app.core.context import request_id
from app.models import AuditEvent


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for every field whose value changed."""
    return {k: [jsonable(old.get(k)), jsonable(v)] for k, v in new.items() if jsonable(old.get(k)) != jsonable(v)}


def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    partnership_id: uuid.UUID | None,
    changes: dict[str, list[Any]],
) -> None:
    session.add(
        AuditEvent(
            actor_type=actor.actor_type,
            actor_id=actor.actor_id,
            person_id=actor.person_id,
            request_id=request_id.get(),
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            partnership_id=partnership_id,
            changes=changes,
        )
    )
