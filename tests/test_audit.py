"""The audit trail: an event per write, a hash chain that exposes tampering, commit-ordered seq."""

import asyncio
import itertools
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.audit.service import verify
from app.core.audit import GENESIS, expected_hash
from app.core.db import Database
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership, make_world
from tests.test_conventions import assert_problem


async def events(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit-events", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def behind_the_services_back(db: Database, *statements: str) -> None:
    """What a DBA could do directly: PostgreSQL's append-only trigger has to be switched off first."""
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        for statement in statements:
            await conn.execute(text(statement))
        if not db.is_sqlite:
            await conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def wsoa_audit_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_every_write_appends_a_chained_event(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}"
    etag = (await client.get(url)).headers["etag"]
    await client.patch(url, json={"title": "Renamed"}, headers={"If-Match": etag, "X-Request-ID": "audit-test-1"})
    trail = await events(client)
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    assert trail[0]["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(trail):
        assert after["prev_hash"] == before["hash"]
    last = trail[-1]
    assert (last["action"], last["entity_type"], last["entity_id"], last["request_id"]) == (
        "update",
        "action",
        w.action["id"],
        "audit-test-1",
    )
    assert last["changes"] == {"title": [w.action["title"], "Renamed"]}
    assert last["actor_type"] == "api_key"
    assert await verify(db) == (len(trail), None)


async def test_filters_and_paging(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    only = await events(client, entity_type="action", entity_id=w.action["id"])
    assert [e["action"] for e in only] == ["create"]
    page = await client.get("/api/v1/audit-events", params={"limit": 2})
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"] == str(body["items"][-1]["seq"])
    rest = await client.get(page.headers["link"].split(";")[0].strip("<>"))
    assert rest.json()["items"][0]["seq"] == body["items"][-1]["seq"] + 1
    after = await events(client, after_seq=3)
    assert after[0]["seq"] == 4
    assert_problem(await client.get("/api/v1/audit-events", params={"colour": "red"}), 422)


async def test_a_lead_sees_its_partnerships_events_only(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    ours, theirs = await make_world(client), await make_world(client)
    token = await new_token(db, Role.lead, partnership_id=uuid.UUID(ours.partnership["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as lead:
        seen = await events(lead)
    assert seen and {e["partnership_id"] for e in seen} == {ours.partnership["id"]}
    assert theirs.plan["id"] not in {e["entity_id"] for e in seen}


async def test_an_edited_event_is_found(client: httpx.AsyncClient, db: Database, database_url: str) -> None:
    await make_world(client)
    total = len(await events(client))
    assert wsoa_audit_verify(database_url).returncode == 0
    await behind_the_services_back(db, "UPDATE audit_event SET actor_id = 'someone-else' WHERE seq = 3")
    checked, broken = await verify(db)
    assert broken is not None and broken.seq == 3 and checked == 2 and total > 3
    result = wsoa_audit_verify(database_url)
    assert result.returncode == 1 and "seq 3" in result.stderr


async def test_a_removed_event_is_found(client: httpx.AsyncClient, db: Database) -> None:
    await make_world(client)
    await behind_the_services_back(db, "DELETE FROM audit_event WHERE seq = 4")
    _, broken = await verify(db)
    assert broken is not None and broken.seq == 4


async def test_a_rewritten_event_with_a_fresh_hash_is_found_by_its_successor(client: httpx.AsyncClient, db: Database) -> None:
    await make_world(client)
    trail = await events(client)
    forged = {**trail[1], "actor_id": "forger", "occurred_at": trail[1]["occurred_at"]}
    from datetime import datetime

    forged["occurred_at"] = datetime.fromisoformat(forged["occurred_at"].replace("Z", "+00:00"))
    digest = expected_hash(forged)
    await behind_the_services_back(db, f"UPDATE audit_event SET actor_id = 'forger', hash = '{digest}' WHERE seq = 2")
    _, broken = await verify(db)
    assert broken is not None and broken.seq == 3


async def test_reordered_events_are_found(client: httpx.AsyncClient, db: Database) -> None:
    await make_world(client)
    await behind_the_services_back(
        db,
        "UPDATE audit_event SET seq = -1 WHERE seq = 2",
        "UPDATE audit_event SET seq = 2 WHERE seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE seq = -1",
    )
    _, broken = await verify(db)
    assert broken is not None and broken.seq == 2


@pytest.mark.postgres_only
async def test_postgres_refuses_update_and_delete(client: httpx.AsyncClient, db: Database) -> None:
    from sqlalchemy.exc import DBAPIError

    await make_partnership(client)
    for statement in ("UPDATE audit_event SET actor_id = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))


@pytest.mark.postgres_only
async def test_concurrent_writers_get_gapless_seq_in_commit_order(client: httpx.AsyncClient, db: Database) -> None:
    p = await make_partnership(client)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/people", json={"partnership_id": p["id"], "display_name": f"P{i}", "external_id": f"C{i}"})
            for i in range(24)
        )
    )
    assert all(r.status_code == 201 for r in responses)
    trail = await events(client)
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1)) and len(trail) == 26
    stamps = [e["occurred_at"] for e in trail]
    assert stamps == sorted(stamps)
    assert await verify(db) == (26, None)
