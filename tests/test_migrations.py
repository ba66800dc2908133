"""Models and migrations agree, and every migration downgrades, on both databases."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.core.db import Database
from app.core.migrations import downgrade, upgrade
from app.core.uow import unit_of_work
from tests.conftest import empty_database


@pytest.fixture
async def scratch_url(backend: str) -> AsyncIterator[str]:
    """An empty database of its own, so migrating it up and down disturbs no other test."""
    async with empty_database(backend, "scratch") as url:
        yield url


async def _inspect(url: str, fn: Any) -> Any:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await db.dispose()


def _diff(conn: Any) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata))


def _tables(conn: Any) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_models_and_migrations_agree(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url)
    assert await _inspect(scratch_url, _diff) == []


async def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url)
    expected = {t.name for t in SQLModel.metadata.sorted_tables}
    assert expected <= await _inspect(scratch_url, _tables)
    await asyncio.to_thread(downgrade, scratch_url, "base")
    assert await _inspect(scratch_url, _tables) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, scratch_url)
    assert expected <= await _inspect(scratch_url, _tables)
    assert await _inspect(scratch_url, _diff) == []


async def test_constraints_are_named(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url)

    def names(conn: Any) -> list[tuple[str, Any]]:
        insp = inspect(conn)
        found = []
        for table in insp.get_table_names():
            found += [(table, fk["name"]) for fk in insp.get_foreign_keys(table)]
            found += [(table, uq["name"]) for uq in insp.get_unique_constraints(table)]
        return found

    found = await _inspect(scratch_url, names)
    assert found and all(name and name.startswith(("fk_", "uq_")) for _, name in found), found


async def test_sqlite_runs_with_foreign_keys_and_wal(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    async with db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"


async def test_timestamps_come_back_utc_aware(db: Database) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select

    from app.models import Partnership

    local = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    async with unit_of_work(db) as session:
        session.add(Partnership(name="Zone test", la_code="777", created_at=local, updated_at=local))
        await session.commit()
    async with unit_of_work(db) as session:
        stored = (await session.execute(select(Partnership.created_at).where(Partnership.la_code == "777"))).scalar_one()
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


async def test_existing_audit_events_join_the_chain_on_upgrade(scratch_url: str) -> None:
    """Events written before the chain existed are numbered densely and chained by migration 0002."""
    from sqlalchemy import Uuid, bindparam, text

    from app.audit.service import verify
    from app.models.base import UTCDateTime

    await asyncio.to_thread(upgrade, scratch_url, "0001")
    db = Database(scratch_url)
    try:
        async with db.engine.begin() as conn:
            for seq in (3, 7, 8):  # sequences leave gaps behind rolled-back transactions
                await conn.execute(
                    text(
                        "INSERT INTO audit_event (seq, occurred_at, actor_type, actor_id, action, entity_type, entity_id, changes) "
                        "VALUES (:seq, :at, 'system', 'system', 'create', 'plan', :entity, :changes)"
                    ).bindparams(bindparam("at", type_=UTCDateTime()), bindparam("entity", type_=Uuid())),
                    {"seq": seq, "at": datetime(2026, 1, seq, tzinfo=UTC), "entity": uuid.uuid4(), "changes": '{"title": [null, "x"]}'},
                )
    finally:
        await db.dispose()
    await asyncio.to_thread(upgrade, scratch_url)
    db = Database(scratch_url)
    try:
        assert await verify(db) == (3, None)
    finally:
        await db.dispose()
