"""The change feed: one row per committed change to a resource, in commit order (`GET /changes`).

Rows are numbered under the same transaction-scoped lock as the audit trail (see `lock_chain`), so a
poller asking for changes after the last number it saw never misses one and never sees one twice, even
while several writers commit at once.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import outbox
from app.core.audit import lock_chain
from app.models import Change, utcnow


@dataclass(frozen=True)
class Changed:
    entity_type: str
    entity_id: uuid.UUID
    action: str
    version: int | None
    partnership_id: uuid.UUID | None
    plan_id: uuid.UUID | None = None
    event: str | None = None  # a webhook event type other than `<entity>.<action>d` (e.g. `person.left`)


async def record(session: AsyncSession, changes: list[Changed]) -> None:
    if not changes:
        return
    await lock_chain(session)
    head = (await session.execute(select(func.coalesce(func.max(col(Change.seq)), 0)))).scalar_one()
    now = utcnow()
    await session.execute(
        insert(Change),
        [
            {"seq": head + n, "occurred_at": now, "entity_type": c.entity_type, "entity_id": c.entity_id, "action": c.action,
             "version": c.version, "partnership_id": c.partnership_id}
            for n, c in enumerate(changes, start=1)
        ],
    )  # fmt: skip
    await outbox.enqueue(session, changes)
