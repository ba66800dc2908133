"""Reading and checking the audit trail."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlmodel import col

from app.core.audit import GENESIS, expected_hash
from app.core.auth import Actor
from app.core.db import Database
from app.core.reads import Reads
from app.models import AuditEvent

COLUMNS = [c for c in AuditEvent.__table__.columns]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


async def verify(db: Database) -> tuple[int, Break | None]:
    """Walk the chain in seq order; the first event that is missing, edited or out of place breaks it."""
    expected, previous, checked = 1, GENESIS, 0
    async with db.engine.connect() as conn:
        result = await conn.stream(select(*COLUMNS).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000))
        async for row in result.mappings():
            event = dict(row)
            if event["seq"] != expected:
                return checked, Break(expected, f"event {expected} is missing (the next one found is {event['seq']})")
            if event["prev_hash"] != previous:
                return checked, Break(
                    event["seq"], "its prev_hash is not the previous event's hash (an event was removed, replaced or reordered)"
                )
            if expected_hash(event) != event["hash"]:
                return checked, Break(event["seq"], "its contents do not match its hash (the event was edited)")
            previous, expected, checked = event["hash"], expected + 1, checked + 1
    return checked, None


async def list_events(reads: Reads, actor: Actor, *, limit: int, after_seq: int | None, filters: dict[str, Any]) -> list[dict[str, Any]]:
    where: list[ColumnElement[bool]] = []
    if actor.partnership_id is not None:
        where.append(col(AuditEvent.partnership_id) == actor.partnership_id)
    if after_seq is not None:
        where.append(col(AuditEvent.seq) > after_seq)
    for name, value in filters.items():
        if value is not None:
            where.append(getattr(AuditEvent, name) == (uuid.UUID(str(value)) if name == "entity_id" else value))
    stmt = select(*COLUMNS).where(*where).order_by(col(AuditEvent.seq)).limit(limit + 1)
    return await reads.rows(stmt)
