"""Rate limits per key and role, with 429 and Retry-After, shared by processes through the database."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core import ratelimit
from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.main import create_app
from app.models import IdempotencyRecord, RateLimitWindow
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership
from tests.test_conventions import assert_problem

NOON = 1_800_000_000.0 + 12  # 12 s into a minute: 48 s left


@pytest.fixture(autouse=True)
def _still(monkeypatch: pytest.MonkeyPatch) -> None:
    """The minute never turns during a test."""
    monkeypatch.setattr(ratelimit, "clock", lambda: NOON)


@asynccontextmanager
async def process(settings: Settings, db: Database, limits: dict[str, int], token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app with its own limiter, as a separate process would have."""
    app = create_app(settings.model_copy(update={"rate_limits": limits}), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def lead_token(client: httpx.AsyncClient, db: Database) -> tuple[dict[str, Any], str]:
    partnership = await make_partnership(client)
    return partnership, await new_token(db, Role.lead, partnership_id=uuid.UUID(partnership["id"]))


async def test_a_key_past_its_limit_gets_429_with_retry_after(client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    partnership, token = await lead_token(client, db)
    _, other = await lead_token(client, db)
    async with process(settings, db, {"lead": 5}, token) as lead, process(settings, db, {"lead": 5}, other) as neighbour:
        for _ in range(5):
            assert (await lead.get("/api/v1/plans")).status_code == 200
        refused = await lead.get("/api/v1/plans")
        assert_problem(refused, 429, "/problems/rate-limited")
        assert refused.headers["retry-after"] == "48" and refused.headers["ratelimit-limit"] == "5"
        assert (await neighbour.get("/api/v1/plans")).status_code == 200  # the limit is per key
        body = {"partnership_id": partnership["id"], "kind": "wsoa", "title": "Plan"}
        posted = await lead.post("/api/v1/plans", json=body, headers={"Idempotency-Key": "after-the-limit"})
        assert_problem(posted, 429, "/problems/rate-limited")
    async with unit_of_work(db) as session:
        kept = (await session.execute(select(func.count()).select_from(IdempotencyRecord))).scalar_one()
    assert kept == 0  # a refused request leaves its key free for the retry


async def test_processes_share_one_limit_through_the_database(client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    _, token = await lead_token(client, db)
    async with process(settings, db, {"lead": 6}, token) as first, process(settings, db, {"lead": 6}, token) as second:
        for _ in range(3):
            assert (await first.get("/api/v1/plans")).status_code == 200
            assert (await second.get("/api/v1/plans")).status_code == 200
        assert_problem(await first.get("/api/v1/plans"), 429, "/problems/rate-limited")
        assert_problem(await second.get("/api/v1/plans"), 429, "/problems/rate-limited")


async def test_large_limits_are_counted_in_steps_and_still_hold(client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    _, token = await lead_token(client, db)
    async with process(settings, db, {"lead": 200}, token) as lead:
        statuses = [(await lead.get("/api/v1/plans", params={"limit": 1})).status_code for _ in range(201)]
    assert statuses.count(200) == 200 and statuses[-1] == 429
    async with unit_of_work(db) as session:
        rows = (await session.execute(select(RateLimitWindow.count))).scalars().all()  # type: ignore[call-overload]
    assert len(rows) == 1 and 200 <= rows[0] <= 201 and len(rows) < 201 / 4  # one row; written every 4 requests


async def test_roles_without_a_limit_are_never_refused(client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    _, token = await lead_token(client, db)
    async with process(settings, db, {"lead": 0, "admin": 1}, token) as lead:
        assert [(await lead.get("/api/v1/plans")).status_code for _ in range(20)] == [200] * 20


async def test_the_worker_forgets_old_counts(
    client: httpx.AsyncClient, settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await lead_token(client, db)
    async with process(settings, db, {"lead": 10}, token) as lead:
        await lead.get("/api/v1/plans")
    assert await ratelimit.purge_old_windows(db) == 0
    monkeypatch.setattr(ratelimit, "clock", lambda: NOON + 2 * 3600)
    assert await ratelimit.purge_old_windows(db) == 1
