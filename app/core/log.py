"""The commit-time log append: audit events and change-feed rows, numbered and written by one statement.

A write collects what it must log while it runs (`audit.record`, `changes.record` add to the session's
`Pending` log and touch no table). The unit of work calls `append()` as the last statement before COMMIT:

- PostgreSQL: one call of the server-side function `wsoa_append_log(audit, changes)` (migration 0010). It
  takes the chain's transaction-scoped advisory lock, reads both heads, numbers and links the events,
  and inserts them. The lock is held for that statement and the COMMIT only, and it is released by the
  commit, so `seq` order is commit order: a reader that has seen N never later finds an uncommitted N-1.
  Every other statement of every write runs in parallel.
- SQLite: writers already hold the database's write lock for their whole transaction (BEGIN IMMEDIATE),
  so the heads are read in one statement and the rows inserted in one statement per table.

Why not one log table: a people sync is one audited write that changes thousands of people, and the
change feed needs one row per changed resource while the audit trail keeps one event per write.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import CURRENT_FORMAT, GENESIS, link_hash
from app.models import AuditEvent, Change, utcnow

PENDING = "wsoa_pending_log"
# pg_advisory_xact_lock key for appends to the logs ("wsoa" + "audt" as two int32s, folded into one int64).
CHAIN_LOCK = 0x77736F61_61756474


@dataclass
class Pending:
    """What one unit of work will append when it commits."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.changes)


def pending(session: AsyncSession) -> Pending:
    log: Pending | None = session.info.get(PENDING)
    if log is None:
        log = session.info[PENDING] = Pending()
    return log


def discard(session: AsyncSession) -> None:
    session.info.pop(PENDING, None)


APPEND_SQL = text("SELECT wsoa_append_log(CAST(:events AS jsonb), CAST(:changes AS jsonb))")


async def append(session: AsyncSession) -> None:
    """Append the pending log; the caller commits right after."""
    log: Pending | None = session.info.pop(PENDING, None)
    if not log:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Aware datetimes as RFC 3339 and UUIDs as text, as PostgreSQL reads them back from jsonb (`str` for the
        # driver's own UUID type, which orjson does not know).
        events, changes = orjson.dumps(log.events, default=str), orjson.dumps(log.changes, default=str)
        await session.execute(APPEND_SQL, {"events": events.decode(), "changes": changes.decode()})
        return
    await _append_sqlite(session, log)


HEADS_SQL = text(
    "SELECT (SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1), (SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1), "
    "(SELECT max(seq) FROM change)"
)


async def _append_sqlite(session: AsyncSession, log: Pending) -> None:
    audit_seq, prev_hash, change_seq = (await session.execute(HEADS_SQL)).one()
    audit_seq, prev_hash, change_seq = audit_seq or 0, prev_hash or GENESIS, change_seq or 0
    now = utcnow()
    if log.events:
        rows = []
        for event in log.events:
            audit_seq += 1
            occurred_at = event["occurred_at"] or now
            digest = link_hash(prev_hash, audit_seq, occurred_at, event["content_hash"])
            row = {k: v for k, v in event.items() if k != "content_hash"}
            rows.append({**row, "seq": audit_seq, "occurred_at": occurred_at, "prev_hash": prev_hash, "hash": digest,
                         "hash_format": CURRENT_FORMAT})  # fmt: skip
            prev_hash = digest
        await session.execute(insert(AuditEvent), rows)
    if log.changes:
        rows = [{**c, "seq": change_seq + n, "occurred_at": now} for n, c in enumerate(log.changes, start=1)]
        await session.execute(insert(Change), rows)
