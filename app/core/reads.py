"""Running read statements: through SQLAlchemy on SQLite, straight on asyncpg on PostgreSQL.

Hot reads are a handful of fixed statements executed thousands of times. On PostgreSQL each one is
compiled once by SQLAlchemy and then run on an asyncpg connection directly, which skips
SQLAlchemy's per-execution work (about 40% of a read's CPU time, measured with the benchmark in
`bench/`). Writes, and every read inside a write's transaction, go through SQLAlchemy as usual.
"""

import asyncio
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, Protocol

import asyncpg
from prometheus_client import Counter
from sqlalchemy import ColumnElement, Dialect, Select, String, Uuid, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.functions import FunctionElement

from app.core.errors import database_unreachable

Row = dict[str, Any]
RAW_STATEMENTS = Counter("wsoa_db_raw_statements_total", "Statements run on the direct asyncpg read path.")


class id_list(FunctionElement[str]):
    """Comma-separated ids of a correlated subquery, with the separator inlined (never a bound value)."""

    type = String()
    inherit_cache = True
    name = "id_list"


@compiles(id_list, "postgresql")
def _id_list_pg(element: id_list, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


@compiles(id_list, "sqlite")
def _id_list_sqlite(element: id_list, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


def ids_of(column: ColumnElement[Any]) -> id_list:
    return id_list(column)


def for_page(stmt: Any, column: Any, name: str) -> dict[str, Select[Any]]:
    """`stmt` limited to the page's ids (`:name`) for each dialect: one array parameter on PostgreSQL (whose direct
    read path takes no expanding parameters), an expanded IN list on SQLite."""
    return {
        "postgresql": stmt.where(column == any_(bindparam(name, type_=ARRAY(Uuid())))),
        "sqlite": stmt.where(column.in_(bindparam(name, expanding=True))),
    }


class Reads(Protocol):
    """Runs a read statement and returns its rows as dicts."""

    dialect: str

    async def rows(self, stmt: Executable, params: Mapping[str, Any] | None = None, *, cache_key: Hashable | None = None) -> list[Row]: ...


class SqlAlchemyReads:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    async def rows(self, stmt: Executable, params: Mapping[str, Any] | None = None, *, cache_key: Hashable | None = None) -> list[Row]:
        result = await self.conn.execute(stmt, dict(params or {}))
        keys = list(result.keys())
        return [dict(zip(keys, r, strict=True)) for r in result]


class Compiled:
    """A statement compiled for asyncpg: `$n` SQL, the parameter names in order, and their defaults."""

    __slots__ = ("defaults", "names", "sql")

    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        if "POSTCOMPILE" in str(compiled):
            raise ValueError("statements for the direct read path cannot use expanding or literal-execute parameters")
        self.sql: str = str(compiled)
        self.names: list[str] = list(compiled.positiontup or [])
        self.defaults: dict[str, Any] = dict(compiled.params)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] if n in params else self.defaults[n] for n in self.names]


class AsyncpgReads:
    dialect = "postgresql"

    def __init__(self, conn: Any, dialect: Dialect, cache: dict[Hashable, Compiled]) -> None:
        self.conn = conn
        self.sa_dialect = dialect
        self.cache = cache

    async def rows(self, stmt: Executable, params: Mapping[str, Any] | None = None, *, cache_key: Hashable | None = None) -> list[Row]:
        compiled = self.cache.get(cache_key) if cache_key is not None else None
        if compiled is None:
            compiled = Compiled(stmt, self.sa_dialect)
            if cache_key is not None:
                self.cache[cache_key] = compiled
        RAW_STATEMENTS.inc()
        records = await self.conn.fetch(compiled.sql, *compiled.args(params or {}))
        return [dict(r) for r in records]


async def _init_connection(conn: Any) -> None:
    import orjson

    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog")


class AsyncpgPool:
    """The read pool on PostgreSQL, opened on first use inside the running event loop.

    When the database goes away (refused or dropped connections, a shutdown), the pool is thrown away
    and the error goes on (a 503); the next request opens a fresh pool, so the service recovers by itself
    once the database is back, with no connection left over from before.
    """

    def __init__(self, dsn: str, size: int, dialect: Dialect) -> None:
        self.dsn, self.size, self.dialect = dsn, size, dialect
        self.pool: Any = None
        self.cache: dict[Hashable, Compiled] = {}
        self.opening = asyncio.Lock()

    async def _open(self) -> Any:
        async with self.opening:
            if self.pool is None:
                self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.size, init=_init_connection, timeout=5)
            return self.pool

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncpgReads]:
        pool = self.pool or await self._open()
        try:
            async with pool.acquire(timeout=10) as conn:
                yield AsyncpgReads(conn, self.dialect, self.cache)
        except Exception as exc:
            if database_unreachable(exc) and self.pool is pool:
                self.pool = None
                pool.terminate()
            raise

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


def as_date(value: Any) -> date:
    """A date column's value from either read path (SQLite computations can hand back ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
