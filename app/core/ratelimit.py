"""Requests per key per minute, one limit per role, shared by every process through the database.

Each process counts a key's requests in the current minute and adds them to the key's row in
`rate_limit_window` (one upsert that returns the total of every process) each time `step` of them
have gathered. A request is refused with 429 and `Retry-After` (the seconds left in the minute) when
the known total plus the unsent count reaches the role's limit. `step` is 2% of the limit, so the
processes together overshoot by at most one step each; under 50 a minute every request is counted
in the database and the limit is exact. Refused requests count too: a flood stays refused until the
minute turns. A limit of 0 means none.
"""

import math
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from app.core.auth import Actor
from app.core.db import Database
from app.core.errors import RateLimited
from app.models import RateLimitWindow

MINUTE = 60
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

    async def _add(self, key: str, minute: int, count: int) -> int:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        table = RateLimitWindow.__table__  # type: ignore[attr-defined]
        stmt = (
            insert(table)
            .values(key=key, minute=minute, count=count)
            .on_conflict_do_update(index_elements=["key", "minute"], set_={"count": table.c.count + count})
            .returning(table.c.count)
        )
        async with self.db.transaction() as session:
            total = int((await session.execute(stmt)).scalar_one())
        return total


async def purge_old_windows(db: Database) -> int:
    """Forget counts older than an hour (the worker calls this with the idempotency purge)."""
    oldest = int(clock() // MINUTE) - KEEP_MINUTES
    async with db.transaction() as session:
        result = await session.execute(delete(RateLimitWindow).where(col(RateLimitWindow.minute) < oldest))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
