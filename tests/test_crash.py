"""Crash consistency: a served process killed with SIGKILL in the middle of a large write.

A 10,000-row people sync and a 10,000-event case batch are sent to a real `wsoa serve` process, which
is killed at several moments while it works. After each kill the batch is either wholly in the
database, with its stored answer, or not at all; a new process then answers the retry with the same
`Idempotency-Key` by replaying that answer or by running the batch, exactly once (a worker killed while
sending a webhook: tests/test_webhooks.py). Slow: run in CI.
"""

import asyncio
import os
import signal
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models import AuditEvent, CaseEvent, Person
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership
from tests.servers import Server, served

pytestmark = pytest.mark.slow
CONFIG = {
    "case_ref_key": "crash-test-key",
    "sync_max_bytes": str(32 * 1024 * 1024),
    "max_body_bytes": str(32 * 1024 * 1024),
}


async def count(db: Database, model: Any, *where: Any) -> int:
    async with unit_of_work(db) as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def send_and_kill(server: Server, token: str, path: str, body: dict[str, Any], key: str, after: float) -> int | None:
    """Send the request; SIGKILL the server `after` seconds later; the status if it answered first."""

    async def request() -> int:
        async with httpx.AsyncClient(timeout=60) as c:
            resp = await c.post(server.url + path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
            return resp.status_code

    task = asyncio.create_task(request())
    await asyncio.sleep(after)
    answered = task.done()
    os.kill(server.pid, signal.SIGKILL)
    try:
        status = await task
    except httpx.HTTPError:
        return None
    return status if answered else None


async def retry_until_done(server: Server, token: str, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    """Retry with the same key (a 409 only while another request with it is still running)."""
    async with httpx.AsyncClient(timeout=60) as c:
        for _ in range(80):
            resp = await c.post(server.url + path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
            if resp.status_code != 409:
                return resp
            await asyncio.sleep(0.25)
    raise AssertionError("the retry never completed")


@pytest.mark.parametrize("after", [0.3, 0.5, 0.65, 1.5])
async def test_a_killed_server_applies_a_people_sync_wholly_or_not_at_all(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path, after: float
) -> None:
    partnership = await make_partnership(client)
    pid = uuid.UUID(partnership["id"])
    token = await new_token(db, Role.admin)
    people = [
        {"external_id": f"K{i:05d}", "display_name": f"Person {i}", "job_title": "Officer", "organisation": "Council"}
        for i in range(10_000)
    ]
    body = {"partnership_id": partnership["id"], "mode": "upsert", "people": people}
    with served(database_url, settings, tmp_path, **CONFIG) as server:
        status = await send_and_kill(server, token, "/api/v1/people/sync", body, "sync-1", after)
    stored = await count(db, Person, col(Person.partnership_id) == pid)
    print(f"killed after {after} s: answered {status}, {stored} people stored")
    assert stored in (0, 10_000), f"half a sync survived the crash: {stored} rows"
    assert status is None or stored == 10_000
    with served(database_url, settings, tmp_path, **CONFIG) as server:
        done = await retry_until_done(server, token, "/api/v1/people/sync", body, "sync-1")
        assert done.status_code == 200, done.text
        again = await retry_until_done(server, token, "/api/v1/people/sync", body, "sync-1")
        assert again.json() == done.json()
    assert await count(db, Person, col(Person.partnership_id) == pid) == 10_000
    syncs = await count(db, AuditEvent, col(AuditEvent.action) == "sync", col(AuditEvent.partnership_id) == pid)
    assert syncs == 1  # applied once: by the killed request or by the retry (which then changes nothing), never both
    # The answer is stored in the sync's own transaction: committed means answered, whenever the process died.
    assert (done.headers.get("idempotent-replayed") == "true") is (stored == 10_000)
    assert done.json()["created"] == 10_000


@pytest.mark.parametrize("after", [0.3, 1.0])
async def test_a_killed_server_applies_a_case_event_batch_wholly_or_not_at_all(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path, after: float
) -> None:
    partnership = await make_partnership(client)
    pid = uuid.UUID(partnership["id"])
    token = await new_token(db, Role.admin)
    start = date(2025, 1, 1)
    events = []
    for n in range(5_000):
        received = start + timedelta(days=n % 300)
        events.append({"event_id": f"c{n}-r", "case_ref": f"C{n}", "type": "request_received", "occurred_on": received.isoformat()})
        events.append(
            {
                "event_id": f"c{n}-f",
                "case_ref": f"C{n}",
                "type": "final_issued",
                "occurred_on": (received + timedelta(days=100 + n % 80)).isoformat(),
            }
        )
    body = {"partnership_id": partnership["id"], "events": events}
    with served(database_url, settings, tmp_path, **CONFIG) as server:
        await send_and_kill(server, token, "/api/v1/case-events", body, "events-1", after)
    stored = await count(db, CaseEvent, col(CaseEvent.partnership_id) == pid)
    print(f"killed after {after} s: {stored} events stored")
    assert stored in (0, 10_000), f"half a batch survived the crash: {stored} events"
    with served(database_url, settings, tmp_path, **CONFIG) as server:
        done = await retry_until_done(server, token, "/api/v1/case-events", body, "events-1")
        assert done.status_code in (200, 201), done.text
    assert await count(db, CaseEvent, col(CaseEvent.partnership_id) == pid) == 10_000
    result = done.json()
    assert result["accepted"] + result["duplicates"] == 10_000
    assert (done.headers.get("idempotent-replayed") == "true") is (stored == 10_000)
    assert result["accepted"] == 10_000
