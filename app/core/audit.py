"""The audit trail: one event per write, in the write's own transaction, chained by SHA-256.

Each event's `hash` is SHA-256 over a canonical encoding of the event and the previous event's hash,
so editing, removing or reordering any row behind the service's back breaks the chain at that row
(`wsoa audit verify` finds it). `seq` follows commit order: appends take a transaction-scoped lock
(PostgreSQL advisory lock; SQLite writers already hold the database's write lock), then read the last
event, so no two writers can interleave between reading the chain's head and committing after it.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.context import request_id
from app.models import AuditEvent, utcnow

GENESIS = "0" * 64
# pg_advisory_xact_lock key for appends to the chain ("wsoa" + "audt" as two int32s, folded into one int64).
CHAIN_LOCK = 0x77736F61_61756474
LOCKED = "wsoa_chain_locked_by"  # session.info: the transaction that holds CHAIN_LOCK
HASHED_FIELDS = (
    "seq", "occurred_at", "actor_type", "actor_id", "person_id", "request_id", "action",
    "entity_type", "entity_id", "partnership_id", "changes", "prev_hash",
)  # fmt: skip


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


def canonical(event: dict[str, Any]) -> bytes:
    """The bytes an event's hash covers: its fields as JSON with sorted keys, UTC microsecond timestamps,
    canonical UUID strings. Changing this changes every hash: it is a stored format, not an implementation detail."""
    fields: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = event[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif isinstance(value, uuid.UUID):
            value = str(value)
        fields[name] = value
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


async def lock_chain(session: AsyncSession) -> None:
    """Serialise appends to the numbered logs (audit trail, change feed) until this transaction ends.

    Numbers are taken under the lock and the lock is released by the commit, so number order is commit
    order: a reader that has seen N can never later find an N-1 that was still uncommitted."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    transaction = session.sync_session.get_transaction()
    if transaction is not None and session.info.get(LOCKED) is transaction:
        return  # held already: a round trip less while every other writer waits for it
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    session.info[LOCKED] = transaction


@dataclass(frozen=True, slots=True)
class Entry:
    """One write to record: `changes` is `{field: [old, new]}`."""

    action: str
    entity_type: str
    entity_id: uuid.UUID
    partnership_id: uuid.UUID | None
    changes: dict[str, list[Any]]
    occurred_at: datetime | None = None  # only loaders of history recorded elsewhere (the demo data) give it


async def append_many(session: AsyncSession, *, actor: Actor, entries: list[Entry]) -> list[AuditEvent]:
    """Append events to the chain in order, reading its head once; call it last, just before the commit."""
    await lock_chain(session)
    head = (await session.execute(select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1))).first()
    seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    rows = []
    for entry in entries:
        seq += 1
        event: dict[str, Any] = {
            "seq": seq,
            "occurred_at": entry.occurred_at or utcnow(),
            "actor_type": actor.actor_type,
            "actor_id": actor.actor_id,
            "person_id": actor.person_id,
            "request_id": request_id.get(),
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "partnership_id": entry.partnership_id,
            "changes": jsonable(entry.changes),
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(event)
        rows.append(AuditEvent(**event, hash=prev_hash))
    session.add_all(rows)
    await session.flush()
    return rows


async def append(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID,
    partnership_id: uuid.UUID | None,
    changes: dict[str, list[Any]],
) -> AuditEvent:
    """Append one event to the chain; call it last, just before the transaction commits."""
    entry = Entry(action, entity_type, entity_id, partnership_id, changes)
    return (await append_many(session, actor=actor, entries=[entry]))[0]
