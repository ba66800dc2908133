"""The audit trail: one event per write, appended with the write's own commit, chained by SHA-256.

Services never write audit rows themselves: `record()` adds an event to the unit of work's pending log
(see `app.core.uow`), and the unit of work appends the whole log in one statement just before COMMIT
(`app.core.log`). That append numbers the events (`seq`, gapless, in commit order) and links each to
the one before.

Two hash formats live in one chain, told apart by `hash_format`:
- 1 (events written before the log moved into the database's append function): `hash` is SHA-256 over a
  canonical JSON encoding of every field including `seq` and `prev_hash` (`event_hash`).
- 2: the writer computes `content_hash`, SHA-256 over the canonical JSON of what happened (who, what,
  which entity, which changes); the append computes the link `hash = SHA-256("prev_hash:seq:occurred_at:content_hash")`
  where it numbers the event, so a transaction holds the chain only for that one statement and its COMMIT.

Editing, removing or reordering any row breaks the chain at that row (`wsoa audit verify`); signed
checkpoints kept outside the database catch a rewrite of the whole tail (`app.audit.checkpoints`).
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Actor
from app.core.context import request_id

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "occurred_at", "actor_type", "actor_id", "person_id", "request_id", "action",
    "entity_type", "entity_id", "partnership_id", "changes", "prev_hash",
)  # fmt: skip
CONTENT_FIELDS = (
    "actor_type", "actor_id", "person_id", "request_id", "action", "entity_type", "entity_id", "partnership_id", "changes",
)  # fmt: skip
CURRENT_FORMAT = 2


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value + 0.0  # -0.0 becomes 0.0: PostgreSQL's jsonb has no negative zero, and the hash must survive it
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for every field whose value changed."""
    return {k: [jsonable(old.get(k)), jsonable(v)] for k, v in new.items() if jsonable(old.get(k)) != jsonable(v)}


def timestamp(value: datetime) -> str:
    """A UTC timestamp as the chain spells it (PostgreSQL's append function spells it the same way)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(event: dict[str, Any], names: tuple[str, ...]) -> bytes:
    fields: dict[str, Any] = {}
    for name in names:
        value = event[name]
        if isinstance(value, datetime):
            value = timestamp(value)
        elif isinstance(value, uuid.UUID):
            value = str(value)
        fields[name] = value
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def canonical(event: dict[str, Any]) -> bytes:
    """Format 1: the bytes an event's hash covers. A stored format, not an implementation detail."""
    return _canonical(event, HASHED_FIELDS)


def event_hash(event: dict[str, Any]) -> str:
    """Format 1 hash (kept to verify the events written in that format)."""
    return hashlib.sha256(canonical(event)).hexdigest()


def content_hash(event: dict[str, Any]) -> str:
    """Format 2: SHA-256 of what happened, computed by the writer before the event has a place in the chain."""
    return hashlib.sha256(_canonical(event, CONTENT_FIELDS)).hexdigest()


def link_hash(prev_hash: str, seq: int, occurred_at: datetime, content: str) -> str:
    """Format 2: the event's place in the chain (PostgreSQL computes the same in `wsoa_append_log`)."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{timestamp(occurred_at)}:{content}".encode()).hexdigest()


def expected_hash(event: dict[str, Any]) -> str:
    """The hash a stored event must carry, in its own format."""
    if event.get("hash_format", 1) == 1:
        return event_hash(event)
    return link_hash(event["prev_hash"], event["seq"], event["occurred_at"], content_hash(event))


@dataclass(frozen=True, slots=True)
class Entry:
    """One write to record: `changes` is `{field: [old, new]}`."""

    action: str
    entity_type: str
    entity_id: uuid.UUID
    partnership_id: uuid.UUID | None
    changes: dict[str, list[Any]]
    occurred_at: datetime | None = None  # only loaders of history recorded elsewhere (the demo data) give it


def record_many(session: AsyncSession, *, actor: Actor, entries: list[Entry]) -> None:
    """Add events to the unit of work's log; they are numbered and chained when it commits."""
    from app.core.log import pending

    log = pending(session)
    for entry in entries:
        event: dict[str, Any] = {
            "occurred_at": entry.occurred_at,
            "actor_type": actor.actor_type,
            "actor_id": actor.actor_id,
            "person_id": actor.person_id,
            "request_id": request_id.get(),
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "partnership_id": entry.partnership_id,
            "changes": jsonable(entry.changes),
        }
        event["content_hash"] = content_hash(event)
        log.events.append(event)


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
    """Add one event to the unit of work's log."""
    record_many(session, actor=actor, entries=[Entry(action, entity_type, entity_id, partnership_id, changes)])


READ = "read"


def record_reads(
    session: AsyncSession, *, actor: Actor, entity_type: str, reads: list[tuple[uuid.UUID, uuid.UUID | None]], what: str
) -> None:
    """Reads of personal data (people's contact details, evidence held locally, board packs), one event per
    `(entity_id, partnership_id)` read: who read `what` and when. They go into the trail with the request's unit
    of work like a write's events, with `changes` `{"read": [null, what]}`, and change nothing they describe."""
    entries = [Entry(READ, entity_type, entity_id, partnership_id, {"read": [None, what]}) for entity_id, partnership_id in reads]
    if entries:
        record_many(session, actor=actor, entries=entries)
