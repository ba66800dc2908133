"""Requests per key per minute, one limit per role, shared by every process through the database.

Each process counts a key's requests in the current minute and adds them to the key's row in
`rate_limit_window` (one upsert that returns the total of every process) each time `step` of them
have gathered. A request is refused with 429 and `Retry-After` (the seconds left in the minute) when
the known total plus the unsent count reaches the role's limit. `step` is 2% of the limit, so the
processes together overshoot by at most one step each; under 50 a minute every request is counted
in the database and the limit is exact. Refused requests count too: a flood stays refused until the
minute turns. A limit of 0 means none.

`check_hourly` is a quota per key and hour for one costly kind of request (PDF and HTML exports): every
counted request goes to the database, in the key's row `<kind>:<key>` of the hour's first minute, so the
quota is exact across processes and the hourly purge forgets it once the hour is over.
"""

import math
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.db import Database, current_unit
from app.core.errors import RateLimited
from app.models import RateLimitWindow

MINUTE = 60
HOUR = 60 * MINUTE
KEEP_MINUTES = 60


def clock() -> float:
    return time.time()


@dataclass
class Tally:
    minute: int
    total: int = 0  # every process's count, as the database last said
    unsent: int = 0  # this process's count not yet added to the database


class RateLimiter:
    def __init__(self, db: Database, limits: dict[str, int]) -> None:
        self.db = db
        self.limits = limits
        self.tallies: dict[str, Tally] = {}
        self.failures: dict[str, tuple[int, int]] = {}  # client address → (minute, failures counted by then)

    async def check(self, actor: Actor) -> None:
        limit = self.limits.get(actor.role.value, 0)
        if limit <= 0:
            return
        now = clock()
        minute = int(now // MINUTE)
        key = f"{actor.actor_type}:{actor.actor_id}"[:120]
        tally = self.tallies.get(key)
        if tally is None or tally.minute != minute:
            if len(self.tallies) > 10_000:
                self.tallies = {k: t for k, t in self.tallies.items() if t.minute == minute}
            tally = self.tallies[key] = Tally(minute)
        tally.unsent += 1
        if tally.unsent >= max(1, limit // 50):
            sent, tally.unsent = tally.unsent, 0
            tally.total = await self._add(key, minute, sent)
        if tally.total + tally.unsent > limit:
            wait = max(1, math.ceil((minute + 1) * MINUTE - now))
            raise RateLimited(
                f"More than {limit} requests a minute for this key; try again in {wait} s.",
                headers={"Retry-After": str(wait), "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(wait)},
            )

    def refuse_blocked(self, address: str | None, limit: int) -> None:
        """429 for a failed attempt of an address that failed too often this minute (as this process last heard)."""
        if limit <= 0 or address is None:
            return
        seen = self.failures.get(address)
        minute = int(clock() // MINUTE)
        if seen is not None and seen[0] == minute and seen[1] > limit:
            self._too_many_failures(limit)

    async def note_failure(self, address: str | None, limit: int) -> None:
        """Counts a failed sign-in or an unknown share-link token of a client address (shared by every process
        through the database); 429 past `limit` a minute."""
        if limit <= 0 or address is None:
            return
        minute = int(clock() // MINUTE)
        if len(self.failures) > 10_000:
            self.failures = {a: seen for a, seen in self.failures.items() if seen[0] == minute}
        total = await self._add(f"failed:{address}"[:120], minute, 1)
        self.failures[address] = (minute, total)
        if total > limit:
            self._too_many_failures(limit)

    def _too_many_failures(self, limit: int) -> None:
        wait = max(1, math.ceil((int(clock() // MINUTE) + 1) * MINUTE - clock()))
        raise RateLimited(
            f"More than {limit} failed sign-ins or unknown links a minute from this address; try again in {wait} s.",
            headers={"Retry-After": str(wait), "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(wait)},
        )

    async def check_hourly(self, actor: Actor, kind: str, limit: int, *, session: AsyncSession | None = None) -> None:
        """Counts one `kind` request of the key this hour; 429 with `Retry-After` (seconds to the next hour) past
        `limit`. When the request's unit of work has begun (`session` in a transaction), the count is written in it
        (a second writer would wait for its lock on SQLite), so a request that fails is not counted."""
        if limit <= 0:
            return
        now = clock()
        hour = int(now // HOUR)
        key = f"{kind}:{actor.actor_type}:{actor.actor_id}"[:120]
        unit = session if session is not None and session.in_transaction() else None
        if unit is None and (current := current_unit.get()) is not None and current.in_transaction():
            unit = current
        total = await self._add(key, hour * (HOUR // MINUTE), 1, session=unit)
        if total > limit:
            wait = max(1, math.ceil((hour + 1) * HOUR - now))
            raise RateLimited(
                f"More than {limit} {kind} requests an hour for this key; try again in {wait} s.",
                headers={"Retry-After": str(wait), "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(wait)},
            )

    async def _add(self, key: str, minute: int, count: int, *, session: AsyncSession | None = None) -> int:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        table = RateLimitWindow.__table__  # type: ignore[attr-defined]
        stmt = (
            insert(table)
            .values(key=key, minute=minute, count=count)
            .on_conflict_do_update(index_elements=["key", "minute"], set_={"count": table.c.count + count})
            .returning(table.c.count)
        )
        if session is not None:
            return int((await session.execute(stmt)).scalar_one())
        async with self.db.transaction() as own:
            total = int((await own.execute(stmt)).scalar_one())
        return total


async def purge_old_windows(db: Database) -> int:
    """Forget counts older than an hour (the worker calls this with the idempotency purge)."""
    oldest = int(clock() // MINUTE) - KEEP_MINUTES
    async with db.transaction() as session:
        result = await session.execute(delete(RateLimitWindow).where(col(RateLimitWindow.minute) < oldest))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
