"""Reading and checking the audit trail."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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


class Anchor(Protocol):
    """A point of the chain vouched for from outside the database (a signed checkpoint, `app.audit.checkpoints`)."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Walk:
    """What a walk of the chain found: how many events held, the last of them (seq, hash), and the first break."""

    checked: int
    last: tuple[int, str] | None
    broken: Break | None


async def walk(db: Database, anchors: Sequence[Anchor] = (), *, since: Anchor | None = None) -> Walk:
    """Walk the chain in seq order; the first event that is missing, edited or out of place breaks it.

    The chain alone cannot tell a rewritten tail from the real one (edit an event, recompute every later hash),
    nor notice that its newest events were deleted. `anchors` can: the event at each one's seq must carry the
    anchor's hash, and the chain must reach the highest of them. `since` starts the walk at an anchor's event
    instead of the first (what lies before it was vouched for when the anchor was signed).
    """
    pinned: dict[int, list[Anchor]] = {}
    for anchor in [*anchors, *([since] if since else [])]:
        pinned.setdefault(anchor.seq, []).append(anchor)
    expected = since.seq if since else 1
    previous: str | None = None if since else GENESIS  # an anchor's own event is checked against the anchor instead
    checked, matched, last = 0, expected - 1, None
    stmt = select(*COLUMNS).where(col(AuditEvent.seq) >= expected).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    async with db.reader.connect() as conn:
        result = await conn.stream(stmt)
        async for row in result.mappings():
            event = dict(row)
            broken = _out_of_place(event, expected, previous) or _unlike_anchors(event, pinned.get(expected, ()), matched)
            if broken is not None:
                return Walk(checked, last, broken)
            matched = expected if expected in pinned else matched
            previous, last, expected, checked = event["hash"], (expected, event["hash"]), expected + 1, checked + 1
    highest = max(pinned, default=0)
    if highest >= expected:
        reason = (
            f"event {expected} is missing: the chain ends at seq {expected - 1}, but checkpoint {pinned[highest][0].name} "
            f"vouches for events up to seq {highest} (the newest events were deleted, or the table emptied)"
        )
        return Walk(checked, last, Break(expected, reason))
    return Walk(checked, last, None)


def _out_of_place(event: dict[str, Any], expected: int, previous: str | None) -> Break | None:
    """The chain's own checks; `previous` is None for the walk's first event when it starts at an anchor."""
    if event["seq"] != expected:
        return Break(expected, f"event {expected} is missing (the next one found is {event['seq']})")
    if previous is not None and event["prev_hash"] != previous:
        return Break(event["seq"], "its prev_hash is not the previous event's hash (an event was removed, replaced or reordered)")
    if expected_hash(event) != event["hash"]:
        return Break(event["seq"], "its contents do not match its hash (the event was edited)")
    return None


def _unlike_anchors(event: dict[str, Any], anchors: Sequence[Anchor], matched: int) -> Break | None:
    """A consistent chain that disagrees with a signature made earlier was rewritten after the last anchor it matches."""
    for anchor in anchors:
        if anchor.hash != event["hash"]:
            return Break(
                event["seq"],
                f"its hash is not the one signed in checkpoint {anchor.name}: an event from seq {matched + 1} to here was "
                "edited and every later hash recomputed",
            )
    return None


async def verify(db: Database, anchors: Sequence[Anchor] = ()) -> tuple[int, Break | None]:
    """Check the whole chain (against `anchors`, if given): (events that held, the first break or None)."""
    result = await walk(db, anchors)
    return result.checked, result.broken


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
