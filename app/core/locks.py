"""Named locks held until the unit of work that took them ends (committed or rolled back), so whoever waits
sees what the holder wrote. In one process the waiters queue in memory and hold no connection while they wait
(`hold_until_end`); across processes, on PostgreSQL, a transaction-scoped advisory lock (`hold_across_processes`)
makes them wait too, so take that one only for the short last step before the commit. (SQLite is one process.)"""

import asyncio
import hashlib

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import uow
from app.core.db import Database

ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(bindparam("key"))


class _Named:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


_held: dict[str, _Named] = {}


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _leave(name: str, entry: _Named) -> None:
    entry.users -= 1
    if entry.users == 0:
        _held.pop(name, None)


async def hold_until_end(session: AsyncSession, name: str) -> None:
    """Wait for, then take, the lock `name` in this process for the rest of `session`'s unit of work."""
    entry = _held.setdefault(name, _Named())
    entry.users += 1
    try:
        await entry.lock.acquire()
    except BaseException:
        _leave(name, entry)
        raise

    def release() -> None:
        entry.lock.release()
        _leave(name, entry)

    uow.on_end(session, release)


async def hold_across_processes(db: Database, session: AsyncSession, name: str) -> bool:
    """On PostgreSQL, wait for and take the lock `name` across processes until `session`'s transaction ends (it
    begins the transaction, and holds a connection from here on); True if taken, False where one process is all."""
    if db.dialect != "postgresql":
        return False
    await session.execute(ADVISORY_LOCK, {"key": _advisory_key(name)})
    return True
