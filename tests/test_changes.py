"""The change feed: commit order, no gaps or repeats for a poller, even under concurrent writers."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership, make_world
from tests.test_conventions import assert_problem


async def poll(client: httpx.AsyncClient, after: str | None = None, **params: Any) -> tuple[list[dict[str, Any]], str]:
    response = await client.get("/api/v1/changes", params={**({"after": after} if after else {}), **params})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"], body["next_cursor"]


async def test_changes_in_order_with_versions(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    url = f"/api/v1/partnerships/{p['id']}"
    await client.patch(url, json={"name": "Renamed"}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    await client.delete(url, headers={"If-Match": (await client.get(url)).headers["etag"]})
    items, cursor = await poll(client)
    assert [(c["entity_type"], c["action"], c["version"]) for c in items] == [
        ("partnership", "create", 1),
        ("partnership", "update", 2),
        ("partnership", "delete", 2),
    ]
    assert {c["entity_id"] for c in items} == {p["id"]} and [c["seq"] for c in items] == [1, 2, 3]
    more, same = await poll(client, cursor)
    assert more == [] and same == cursor
    first, _ = await poll(client, limit=1)
    after_first, _ = await poll(client, first[0]["seq"] and str(first[0]["seq"]))
    assert [c["seq"] for c in after_first] == [2, 3]
    assert_problem(await client.get("/api/v1/changes", params={"after": "abc"}), 422)


async def test_a_partnership_key_sees_its_own_changes(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    ours, theirs = await make_world(client), await make_world(client)
    token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(ours.partnership["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as inspector:
        items, _ = await poll(inspector, limit=1000)
    assert items and {c["partnership_id"] for c in items} == {ours.partnership["id"]}
    typed, _ = await poll(client, entity_type="action", limit=1000)
    assert {c["entity_id"] for c in typed} == {ours.action["id"], theirs.action["id"]}


@pytest.mark.postgres_only
async def test_a_poller_never_misses_or_repeats_while_writers_commit_concurrently(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    writers_done = asyncio.Event()
    seen: list[int] = []

    async def write(i: int) -> str:
        response = await client.post("/api/v1/people", json={"partnership_id": p["id"], "display_name": f"W{i}", "external_id": f"W{i}"})
        assert response.status_code == 201
        person: str = response.json()["id"]
        return person

    async def poller() -> None:
        cursor: str | None = None
        while True:
            done = writers_done.is_set()
            items, cursor = await poll(client, cursor, limit=7)
            seen.extend(c["seq"] for c in items)
            if done and not items:
                return
            await asyncio.sleep(0)

    async def writers() -> list[str]:
        try:
            return list(await asyncio.gather(*(write(i) for i in range(60))))
        finally:
            writers_done.set()

    created, _ = await asyncio.gather(writers(), poller())
    assert len(seen) == len(set(seen)), "a change was seen twice"
    assert seen == sorted(seen) and seen == list(range(1, len(seen) + 1)), "a change was skipped"
    everything, _ = await poll(client, limit=1000)
    assert {c["entity_id"] for c in everything if c["entity_type"] == "person"} == set(created)


async def test_the_feed_hides_resources_the_caller_may_not_read(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    world = await make_world(client)
    made = await client.post(
        "/api/v1/webhook-subscriptions", json={"url": "http://127.0.0.1:9/hook", "partnership_id": world.partnership["id"]}
    )
    assert made.status_code == 201, made.text
    everything, _ = await poll(client, limit=1000)
    assert any(c["entity_type"] == "webhook_subscription" for c in everything)
    token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(world.partnership["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as inspector:
        items, cursor = await poll(inspector, limit=1000)
    assert items and not any(c["entity_type"] == "webhook_subscription" for c in items)
    assert int(cursor) >= max(c["seq"] for c in everything if c["partnership_id"] == world.partnership["id"])
