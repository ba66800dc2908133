"""A credential works only while it is valid: a leaver's key stops at once, even when verified keys are cached,
and an Idempotency-Key's stored answer is never replayed to a key that no longer authenticates."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.models import Person
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_world
from tests.test_conventions import assert_problem

LEFT = "has left the partnership"


async def _patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    etag = (await client.get(f"/api/v1/{path}")).headers["etag"]
    return await client.patch(f"/api/v1/{path}", json=body, headers={"If-Match": etag})


@pytest.fixture
async def cached(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app as served: verified credentials are trusted in memory for a while."""
    app = create_app(settings.model_copy(update={"auth_cache_seconds": 60.0}), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_a_leavers_key_stops_working_at_once(client: httpx.AsyncClient, cached: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/actions/{w.action['id']}/progress-updates"
    first = await cached.post(url, json={"rag": "green", "narrative": "On track."}, headers=auth)
    assert first.status_code == 201, first.text
    assert (await cached.get("/api/v1/plans", headers=auth)).status_code == 200  # now trusted from the cache

    assert (await _patch(client, f"people/{w.owner['id']}", {"active": False})).status_code == 200

    refused = assert_problem(await cached.post(url, json={"rag": "red", "narrative": "Posted after leaving."}, headers=auth), 401)
    assert LEFT in refused["detail"]
    assert LEFT in assert_problem(await cached.get("/api/v1/plans", headers=auth), 401)["detail"]

    # Coming back (active again) brings the key back.
    assert (await _patch(client, f"people/{w.owner['id']}", {"active": True})).status_code == 200
    assert (await cached.get("/api/v1/plans", headers=auth)).status_code == 200


async def test_a_leaver_marked_by_the_hr_sync_stops_reading_at_once(
    client: httpx.AsyncClient, cached: httpx.AsyncClient, db: Database
) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    auth = {"Authorization": f"Bearer {token}"}
    assert (await cached.get("/api/v1/plans", headers=auth)).status_code == 200  # verified and cached
    row = {"external_id": w.owner["external_id"], "active": False}
    synced = await client.post("/api/v1/people/sync", json={"partnership_id": w.partnership["id"], "mode": "upsert", "people": [row]})
    assert synced.status_code == 200 and synced.json()["updated"] == 1, synced.text
    assert LEFT in assert_problem(await cached.get("/api/v1/plans", headers=auth), 401)["detail"]


async def test_a_leaver_marked_by_another_process_can_write_nothing_more(
    client: httpx.AsyncClient, cached: httpx.AsyncClient, db: Database
) -> None:
    """Another process's commit does not clear this process's cache of verified keys: reads may go on for the
    cache's few seconds, but a write always looks the key up, so it is refused from the moment of leaving."""
    w = await make_world(client)
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/actions/{w.action['id']}/progress-updates"
    assert (await cached.get("/api/v1/plans", headers=auth)).status_code == 200  # verified and cached
    async with db.engine.begin() as conn:  # a plain connection, as another process would write it
        await conn.execute(update(Person).where(col(Person.id) == uuid.UUID(w.owner["id"])).values(active=False))
    assert (await cached.get("/api/v1/plans", headers=auth)).status_code == 200  # a read within the cache's time
    refused = assert_problem(await cached.post(url, json={"rag": "red", "narrative": "Posted after leaving."}, headers=auth), 401)
    assert LEFT in refused["detail"]
    updates = (await client.get("/api/v1/progress-updates", params={"action_id": w.action["id"]})).json()["items"]
    assert all(u["narrative"] != "Posted after leaving." for u in updates)


async def test_a_key_without_a_person_is_not_affected_by_people_leaving(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.lead, partnership_id=uuid.UUID(w.partnership["id"]))
    assert (await _patch(client, f"people/{w.owner['id']}", {"active": False})).status_code == 200
    assert (await client.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_a_revoked_key_gets_no_replay(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/api-keys", json={"name": "Temp", "role": "admin"})).json()
    headers = {"Authorization": f"Bearer {created['token']}", "Idempotency-Key": "once-only"}
    body = {"name": "Made by Temp", "role": "inspector"}
    first = await anon.post("/api/v1/api-keys", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await anon.post("/api/v1/api-keys", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"

    url = f"/api/v1/api-keys/{created['id']}"
    etag = (await client.get(url)).headers["etag"]
    assert (await client.delete(url, headers={"If-Match": etag})).status_code == 204

    refused = await anon.post("/api/v1/api-keys", json=body, headers=headers)
    problem = assert_problem(refused, 401)
    assert "idempotent-replayed" not in refused.headers and "revoked" in problem["detail"]
    assert first.json()["id"] not in refused.text


async def test_a_leavers_key_gets_no_replay(client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "update-1"}
    url = f"/api/v1/actions/{w.action['id']}/progress-updates"
    body = {"rag": "amber", "narrative": "Half way."}
    assert (await anon.post(url, json=body, headers=headers)).status_code == 201
    assert (await _patch(client, f"people/{w.owner['id']}", {"active": False})).status_code == 200
    refused = await anon.post(url, json=body, headers=headers)
    assert LEFT in assert_problem(refused, 401)["detail"] and "idempotent-replayed" not in refused.headers


async def test_an_address_that_keeps_guessing_tokens_is_throttled(settings: Any, db: Any) -> None:
    import asyncio
    import time

    if time.time() % 60 > 55:  # one minute's window for the whole test
        await asyncio.sleep(60 - time.time() % 60 + 0.5)
    app = create_app(settings.model_copy(update={"failed_auth_per_minute": 3}), db)
    bad = {"Authorization": "Bearer wsoa_guess_notatoken"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 5000)), base_url="http://test") as c:
        assert [(await c.get("/api/v1/plans", headers=bad)).status_code for _ in range(3)] == [401, 401, 401]
        refused = await c.get("/api/v1/plans", headers=bad)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        posted = await c.post("/api/v1/organisations", headers=bad, json={})
        assert posted.status_code == 429  # writes included
        valid = await c.get("/api/v1/plans", headers={"Authorization": f"Bearer {await new_token(db)}"})
        assert valid.status_code == 200  # a valid key is never refused for its address (users behind one proxy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 5000)), base_url="http://test") as c:
        assert (await c.get("/api/v1/plans", headers=bad)).status_code == 401  # another address is not
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("192.0.2.44", 5000)), base_url="http://test") as c:
        guesses = [(await c.get(f"/api/v1/shared/guess-{n}")).status_code for n in range(4)]
    assert guesses == [404, 404, 404, 429]  # guessing share-link tokens counts the same way
