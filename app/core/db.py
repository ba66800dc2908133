"""Engine and sessions: SQLite (embedded default) and PostgreSQL through one async code path."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.reads import AsyncpgPool, Reads, SqlAlchemyReads

READ_ONLY = "wsoa_read_only"
# The unit of work of the running request: reads made after it has begun writing see its own writes.
current_unit: ContextVar[AsyncSession | None] = ContextVar("current_unit", default=None)


def async_url(url: str) -> URL:
    """Map a plain database URL to the async driver we run on."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database: {backend}")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); the driver's own implicit BEGIN would be DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY instead of waiting when another writer got there first.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and session factory per process (or per test database)."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        target = async_url(url)
        self.dialect = target.get_backend_name()
        # hide_parameters: a database error's message never carries the statement's values (names, e-mails of a whole
        # HR batch) into logs or problem details.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "postgresql":
            # A fixed pool: overflow connections would be opened and closed again under every burst.
            # pre-ping: a connection left broken by a database restart is replaced before use, not failed on;
            # short connect and acquire timeouts: while the database is away, requests fail fast (503).
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_timeout=10, pool_pre_ping=True, connect_args={"timeout": 5})
        self.engine: AsyncEngine = create_async_engine(target, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # Bookkeeping (a key's last use, rate-limit counts, refused requests' answers) runs while a request may hold
        # a connection of the main pool; on PostgreSQL it has a small pool of its own, so it never waits for that one.
        self.bookkeeping = self.sessions
        if self.dialect == "postgresql":
            keeper = create_async_engine(target, **{**kwargs, "pool_size": 2})
            self.bookkeeping = async_sessionmaker(keeper, expire_on_commit=False, autoflush=False)
            self._keeper: AsyncEngine | None = keeper
        else:
            self._keeper = None
        self.reader = self.engine.execution_options(**{READ_ONLY: True})
        self.raw: AsyncpgPool | None = None
        if self.dialect == "postgresql":
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.raw = AsyncpgPool(dsn, pool_size, self.engine.dialect)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Reads]:
        """Runs reads outside any write transaction (see `app.core.reads`); once the request's unit of work has
        begun writing, inside it, so a write's response shows the write (it commits after the route returns)."""
        unit = current_unit.get()
        if unit is not None and unit.in_transaction():
            yield SqlAlchemyReads(await unit.connection())
            return
        if self.raw is not None:
            async with self.raw.reads() as reads:
                yield reads
            return
        async with self.reader.connect() as conn:
            yield SqlAlchemyReads(conn)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reports that read through the ORM's types; never takes SQLite's write lock. Inside a
        request's unit of work that has begun, it reads through that transaction (a second pooled connection per
        request could exhaust the pool under load)."""
        unit = current_unit.get()
        if unit is not None and unit.in_transaction():
            async with AsyncSession(bind=await unit.connection(), expire_on_commit=False) as session:
                yield session
            return
        async with AsyncSession(self.reader, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A short transaction of the service's own bookkeeping, committed when the block ends: remembered
        Idempotency-Key answers, rate-limit counts, a key's last use. Nothing audited is written here; writes
        of the plan and its people go through the unit of work (`app.core.uow`)."""
        async with self.bookkeeping() as session:
            yield session
            await session.commit()

    async def dispose(self) -> None:
        if self.raw is not None:
            await self.raw.close()
        await self.engine.dispose()
        if self._keeper is not None:
            await self._keeper.dispose()


async def get_database(request: Request) -> Database:
    """Async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a hop per request."""
    db: Database = request.app.state.db
    return db


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(request: Request) -> AsyncSession:
    """The request's unit of work (`app.core.uow.UnitOfWorkRoute` opens, commits and rolls it back)."""
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
