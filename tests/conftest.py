"""One database per test run, built by the migrations; every test starts from empty tables.

`--db sqlite` (default) or `--db postgres` picks the database; PostgreSQL comes from
`WSOA_TEST_POSTGRES_URL` (default: the local server). With `CI=true` an unreachable PostgreSQL fails
the run instead of skipping it.
"""

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models
from app.apikeys.service import create_key
from app.core.auth import token_cache
from app.core.config import Settings
from app.core.db import Database
from app.core.migrations import upgrade
from app.core.uow import unit_of_work
from app.main import create_app
from app.models.enums import Role

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgres"], default=os.environ.get("WSOA_TEST_DB", "sqlite"))
    parser.addoption("--slow", action="store_true", default=os.environ.get("CI") == "true", help="Also run slow tests (always in CI).")
    parser.addoption("--wheel", action="store_true", help="Also build, install and run the wheel (`make check` does).")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgres":
        skip = pytest.mark.skip(reason="needs PostgreSQL (run with --db postgres)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)
    if not config.getoption("--slow"):
        slow = pytest.mark.skip(reason="slow (run with --slow; CI always does)")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(slow)
    if not config.getoption("--wheel"):
        wheel = pytest.mark.skip(reason="builds and installs the wheel (run with --wheel, as `make check` does)")
        for item in items:
            if "wheel" in item.keywords:
                item.add_marker(wheel)


async def _admin_execute(url: str, sql: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "postgres",
        timeout=5,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@asynccontextmanager
async def empty_database(backend: str, label: str) -> AsyncIterator[str]:
    """A new, empty database (a file, or a PostgreSQL database of its own), dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / f'{label}.db'}"
        return
    server = os.environ.get("WSOA_TEST_POSTGRES_URL", DEFAULT_PG)
    name = f"wsoa_{label}_{uuid.uuid4().hex[:12]}"
    try:
        await _admin_execute(server, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {server} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL at {server} is not reachable: {exc}")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_url(backend: str) -> AsyncIterator[str]:
    async with empty_database(backend, "test") as url:
        yield url


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    import asyncio

    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url, pool_size=20)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    store = tmp_path_factory.mktemp("evidence-store")
    return Settings(
        database_url=database_url, log_level="WARNING", auth_cache_seconds=0, storage_dir=str(store), upload_max_bytes=25 * 1024 * 1024,
        webhook_allow_private=True, webhook_backoff_base_seconds=0,  # the tests' webhook receivers listen on 127.0.0.1
        failed_auth_per_minute=0,  # every test client shares one address and many tests send bad tokens on purpose
    )  # fmt: skip


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database) -> Any:
    return create_app(settings, database=db)


@pytest.fixture(autouse=True)
async def _clean(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("db")
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            # The audit trail refuses TRUNCATE (a trigger); the tests' owner switches triggers off for its own cleaning.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE"))
    token_cache.clear()


async def new_token(db: Database, role: Role = Role.admin, **kwargs: Any) -> str:
    async with unit_of_work(db) as session:
        _, token = await create_key(session, role=role, name=f"test-{role.value}", **kwargs)
    return token


@pytest.fixture
async def admin_token(db: Database) -> str:
    return await new_token(db)


@pytest.fixture
async def client(app: Any, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}) as c:
        yield c


@pytest.fixture
async def anon(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def _raw_statements() -> float:
    return REGISTRY.get_sample_value("wsoa_db_raw_statements_total") or 0.0


class StatementCounter:
    """SQL statements run through SQLAlchemy or on the direct asyncpg read path, since `reset()`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.through_sqlalchemy = 0
        self.raw_start = _raw_statements()

    @property
    def count(self) -> int:
        return self.through_sqlalchemy + int(_raw_statements() - self.raw_start)

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.through_sqlalchemy += 1


@pytest.fixture
def statements(db: Database) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
