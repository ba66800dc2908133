"""Pagination under concurrent writes, optimistic concurrency, and a fixed number of statements per list."""

import asyncio
import random

import httpx
import pytest

from tests.factories import make_action, make_partnership, make_person, make_world, post


async def test_paging_while_others_insert_neither_skips_nor_repeats(client: httpx.AsyncClient) -> None:
    rng = random.Random(7)
    existing = {(await make_partnership(client))["id"] for _ in range(23)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": str(rng.randint(1, 5))}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/partnerships", params=params)).json()
        seen.extend(i["id"] for i in page["items"])
        for _ in range(rng.randint(0, 2)):  # another client inserts between our pages
            await make_partnership(client)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert existing <= set(seen), "an item that existed at the start was skipped"


async def test_paging_newest_first_while_others_insert(client: httpx.AsyncClient) -> None:
    existing = {(await make_partnership(client))["id"] for _ in range(9)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", "sort": "-created_at", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/partnerships", params=params)).json()
        seen.extend(i["id"] for i in page["items"])
        await make_partnership(client)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and existing <= set(seen)


@pytest.mark.postgres_only
async def test_concurrent_patches_with_one_etag_let_exactly_one_win(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}"
    etag = (await client.get(url)).headers["etag"]
    responses = await asyncio.gather(*(client.patch(url, json={"title": f"Writer {i}"}, headers={"If-Match": etag}) for i in range(8)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [412] * 7, [r.text for r in responses]
    final = (await client.get(url)).json()
    winner = next(r for r in responses if r.status_code == 200).json()
    assert final["version"] == 2 and final["title"] == winner["title"]


async def test_listing_10_or_200_actions_costs_the_same_statements(client: httpx.AsyncClient, statements: object) -> None:
    w = await make_world(client)
    helper = await make_person(client, w.partnership)
    for i in range(199):
        action = await make_action(client, w.plan, w.concerns, owner_id=w.owner["id"], contributor_ids=[helper["id"]], due_on="2030-01-01")
        if i % 50 == 0:
            await post(client, "milestones", {"action_id": action["id"], "title": "m", "due_on": "2029-01-01"})
            await post(
                client, "progress-updates", {"action_id": action["id"], "author_id": w.owner["id"], "rag": "green", "narrative": "ok"}
            )
    counts = {}
    for limit in (10, 200):
        statements.reset()  # type: ignore[attr-defined]
        response = await client.get("/api/v1/actions", params={"limit": limit})
        assert response.status_code == 200 and len(response.json()["items"]) == limit
        counts[limit] = statements.count  # type: ignore[attr-defined]
    assert counts[10] == counts[200], counts
    assert counts[10] == 3, counts  # the key, the page, the page's milestones
