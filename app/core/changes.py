"""The change feed: one row per committed change to a resource, in commit order (`GET /changes`).

A write records its changes in the unit of work's pending log; the commit-time append numbers them under
the same lock as the audit trail (see `app.core.log`), so a poller asking for changes after the last
number it saw never misses one and never sees one twice, even while several writers commit at once.
Webhook deliveries are derived from the committed feed by `wsoa worker` (`app.integrations.webhooks`).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.log import pending

PAST = {"create": "created", "update": "updated", "delete": "deleted"}


def event_type_of(entity_type: str, action: str, event: str | None = None) -> str:
    """A change's webhook event type: `event` when the write named one (`person.left`), else `<entity>.<action>d`."""
    return event or f"{entity_type}.{PAST.get(action, action)}"


@dataclass(frozen=True)
class Changed:
    entity_type: str
    entity_id: uuid.UUID
    action: str
    version: int | None
    partnership_id: uuid.UUID | None
    plan_id: uuid.UUID | None = None
    event: str | None = None  # a webhook event type other than `<entity>.<action>d` (e.g. `person.left`)

    @property
    def event_type(self) -> str:
        return event_type_of(self.entity_type, self.action, self.event)


def record(session: AsyncSession, changes: list[Changed]) -> None:
    """Add changes to the unit of work's log; they are numbered when it commits."""
    log = pending(session)
    for c in changes:
        log.changes.append(
            {"entity_type": c.entity_type, "entity_id": c.entity_id, "action": c.action, "version": c.version,
             "partnership_id": c.partnership_id, "plan_id": c.plan_id, "event_type": c.event_type}
        )  # fmt: skip
