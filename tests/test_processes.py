"""Two service processes on one PostgreSQL: every piece of shared state is in the database, so an
Idempotency-Key, a rate limit and an export made once hold across them (webhook deliveries by two workers:
tests/test_webhooks.py; exports by two workers: tests/test_exports.py)."""

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models import Organisation
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership, make_world
from tests.servers import served

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


async def test_one_idempotency_key_creates_once_across_two_processes(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    partnership = await make_partnership(client)
    token = await new_token(db)
    headers = {"Authorization": f"Bearer {token}"}
    with served(database_url, settings, tmp_path, rate_limits="{}") as a, served(database_url, settings, tmp_path, rate_limits="{}") as b:
        async with httpx.AsyncClient(headers=headers, timeout=30) as c:
            for n in range(20):
                body = {"partnership_id": partnership["id"], "name": f"Trust {n}", "kind": "nhs_provider"}
                key = {"Idempotency-Key": f"org-{n}"}
                first, second = await asyncio.gather(
                    c.post(f"{a.url}/api/v1/organisations", json=body, headers=key),
                    c.post(f"{b.url}/api/v1/organisations", json=body, headers=key),
                )
                assert "server" not in first.headers and "server" not in second.headers  # nothing names what serves it
                statuses = sorted([first.status_code, second.status_code])
                assert statuses in ([201, 201], [201, 409]), (first.text, second.text)
                if statuses == [201, 201]:  # the second was a replay of the first
                    assert first.json()["id"] == second.json()["id"]
                    assert "true" in (first.headers.get("idempotent-replayed"), second.headers.get("idempotent-replayed"))
                retry = await c.post(f"{b.url}/api/v1/organisations", json=body, headers=key)
                assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    async with unit_of_work(db) as session:
        made = (
            await session.execute(
                select(func.count()).select_from(Organisation).where(col(Organisation.partnership_id) == uuid.UUID(partnership["id"]))
            )
        ).scalar_one()
    assert made == 20


async def test_a_rate_limit_holds_across_two_processes(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    partnership = await make_partnership(client)
    token = await new_token(db, Role.lead, partnership_id=uuid.UUID(partnership["id"]))
    limits = '{"lead": 30}'
    if time.time() % 60 > 45:  # start in a fresh minute, so the whole test falls inside one
        await asyncio.sleep(60 - time.time() % 60 + 0.5)
    with (
        served(database_url, settings, tmp_path, rate_limits=limits) as a,
        served(database_url, settings, tmp_path, rate_limits=limits) as b,
    ):
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            statuses = []
            for _ in range(25):
                statuses += [(await c.get(f"{a.url}/api/v1/plans")).status_code, (await c.get(f"{b.url}/api/v1/plans")).status_code]
    # 50 requests at two processes against one limit of 30 a minute (under 50, every request is counted in the database)
    assert statuses.count(200) == 30 and statuses.count(429) == 20, statuses


async def test_identical_exports_asked_of_two_processes_at_once_are_made_once(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.lead, partnership_id=uuid.UUID(w.partnership["id"]))
    with served(database_url, settings, tmp_path, rate_limits="{}") as a, served(database_url, settings, tmp_path, rate_limits="{}") as b:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for export_format in ("csv", "json", "xlsx"):
                for audience in ("inspectors", "public"):
                    body = {"format": export_format, "audience": audience}
                    first, second = await asyncio.gather(
                        c.post(f"{a.url}/api/v1/plans/{w.plan['id']}/exports", json=body),
                        c.post(f"{b.url}/api/v1/plans/{w.plan['id']}/exports", json=body),
                    )
                    assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
                    assert first.json()["id"] == second.json()["id"]
    made = (await client.get("/api/v1/exports", params={"plan_id": w.plan["id"]})).json()["items"]
    assert len(made) == 6
