"""Keys see their own partnership only; every API route demands a key."""

import re
import uuid
from typing import Any

import httpx
from fastapi.routing import APIRoute

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_person, make_plan, make_world, post
from tests.test_conventions import assert_problem


async def scoped_client(app: Any, db: Database, partnership_id: str) -> httpx.AsyncClient:
    token = await new_token(db, Role.admin, partnership_id=uuid.UUID(partnership_id))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"})


async def test_another_partnerships_objects_are_invisible(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    ours, theirs = await make_world(client), await make_world(client)
    async with await scoped_client(app, db, ours.partnership["id"]) as mine:
        for path in (
            f"plans/{theirs.plan['id']}",
            f"actions/{theirs.action['id']}",
            f"people/{theirs.owner['id']}",
            f"partnerships/{theirs.partnership['id']}",
        ):
            assert_problem(await mine.get(f"/api/v1/{path}"), 404)
        assert (await mine.get(f"/api/v1/actions/{ours.action['id']}")).status_code == 200
        for collection, own in (("plans", ours.plan), ("actions", ours.action), ("partnerships", ours.partnership), ("people", ours.owner)):
            listed = (await mine.get(f"/api/v1/{collection}", params={"limit": 200})).json()["items"]
            assert [i["id"] for i in listed] == [own["id"]], collection
        # Writes can neither reach nor reference the other partnership's objects.
        etag = (await client.get(f"/api/v1/plans/{theirs.plan['id']}")).headers["etag"]
        assert_problem(await mine.patch(f"/api/v1/plans/{theirs.plan['id']}", json={"title": "x"}, headers={"If-Match": etag}), 404)
        assert_problem(await mine.delete(f"/api/v1/plans/{theirs.plan['id']}", headers={"If-Match": etag}), 404)
        response = await mine.post(
            "/api/v1/concerns", json={"plan_id": theirs.plan["id"], "ref": "X1", "kind": "recommendation", "title": "x"}
        )
        assert assert_problem(response, 422)["errors"][0]["pointer"] == "/plan_id"
        assert_problem(
            await mine.post(f"/api/v1/actions/{theirs.action['id']}/progress-updates", json={"rag": "red", "narrative": "x"}), 404
        )
    assert (await client.get(f"/api/v1/plans/{theirs.plan['id']}")).json()["title"] == theirs.plan["title"]


async def test_cursor_pages_stay_inside_the_partnership(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    ours, theirs = await make_world(client), await make_world(client)
    for _ in range(3):
        await make_plan(client, ours.partnership)
        await make_plan(client, theirs.partnership)
    async with await scoped_client(app, db, ours.partnership["id"]) as mine:
        seen, cursor = [], None
        while True:
            page = (await mine.get("/api/v1/plans", params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
            seen += [p["partnership_id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == [ours.partnership["id"]] * 4


async def test_duplicate_unique_fields_are_409_with_a_pointer(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    response = await client.post(
        "/api/v1/people", json={"partnership_id": w.partnership["id"], "display_name": "Twin", "external_id": w.owner["external_id"]}
    )
    body = assert_problem(response, 409, "/problems/duplicate")
    assert body["errors"][0]["pointer"] == "/external_id"
    other = await make_person(client, w.partnership)
    url = f"/api/v1/people/{other['id']}"
    etag = (await client.get(url)).headers["etag"]
    assert_problem(
        await client.patch(url, json={"external_id": w.owner["external_id"]}, headers={"If-Match": etag}), 409, "/problems/duplicate"
    )
    await post(client, "organisations", {"partnership_id": w.partnership["id"], "name": "ICB", "kind": "icb"})
    again = await client.post("/api/v1/organisations", json={"partnership_id": w.partnership["id"], "name": "ICB", "kind": "icb"})
    assert_problem(again, 409, "/problems/duplicate")


async def test_every_api_route_needs_a_key(app: Any, anon: httpx.AsyncClient) -> None:
    """Every route but one: a share link's token is its own credential (tests/test_exports.py)."""
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/v1") and r.path != "/api/v1/shared/{token}"]
    assert len(routes) >= 30
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59", route.path)
        for method in route.methods:
            response = await anon.request(method, path, json={} if method in ("POST", "PATCH") else None)
            assert response.status_code == 401, f"{method} {route.path}"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_idempotency_key_starts_afresh(client: httpx.AsyncClient, db: Database) -> None:
    from sqlalchemy import update

    from app.models import IdempotencyRecord, utcnow

    headers = {"Idempotency-Key": "k-expired"}
    first = await client.post("/api/v1/partnerships", json={"name": "A", "la_code": "563"}, headers=headers)
    assert first.status_code == 201
    async with unit_of_work(db) as session:
        await session.execute(update(IdempotencyRecord).values(expires_at=utcnow()))
        await session.commit()
    second = await client.post("/api/v1/partnerships", json={"name": "B", "la_code": "564"}, headers=headers)
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]


async def test_the_worker_forgets_expired_idempotency_records(client: httpx.AsyncClient, db: Database) -> None:
    from sqlalchemy import func, select, update

    from app.core.idempotency import purge_expired
    from app.models import IdempotencyRecord, utcnow

    await client.post("/api/v1/partnerships", json={"name": "Old", "la_code": "565"}, headers={"Idempotency-Key": "old"})
    await client.post("/api/v1/partnerships", json={"name": "New", "la_code": "566"}, headers={"Idempotency-Key": "new"})
    async with unit_of_work(db) as session:
        await session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "old").values(expires_at=utcnow()))  # type: ignore[arg-type]
        await session.commit()
    assert await purge_expired(db) == 1
    async with unit_of_work(db) as session:
        assert (await session.execute(select(func.count()).select_from(IdempotencyRecord))).scalar_one() == 1


async def test_impact_governance_risks_and_engagements_of_another_partnership_are_invisible(
    app: Any, db: Database, client: httpx.AsyncClient
) -> None:
    theirs = await make_world(client)
    plan, concern, action = theirs.plan, theirs.concerns[0], theirs.action
    board = await post(client, "boards", {"partnership_id": theirs.partnership["id"], "name": "Delivery Group", "kind": "delivery_group"})
    meeting = await post(
        client, "meetings", {"board_id": board["id"], "plan_id": plan["id"], "title": "DG", "held_on": "2026-11-10", "status": "held"}
    )
    made = {
        "boards": board,
        "meetings": meeting,
        "decisions": await post(client, "decisions", {"meeting_id": meeting["id"], "text": "Agreed."}),
        "meeting-actions": await post(client, "meeting-actions", {"meeting_id": meeting["id"], "title": "Write"}),
        "risks": await post(client, "risks", {"plan_id": plan["id"], "ref": "R1", "title": "EP capacity", "likelihood": 3, "impact": 3}),
        "engagements": await post(
            client,
            "engagements",
            {"plan_id": plan["id"], "held_on": "2026-11-01", "title": "Forum", "participants": ["schools"], "level": "consult"},
        ),
        "impact-statements": await post(
            client,
            "impact-statements",
            {"concern_id": concern["id"], "narrative": "n", "judgement": "partial_progress", "judgement_reason": "r"},
        ),
    }
    ours = await make_world(client)
    async with await scoped_client(app, db, ours.partnership["id"]) as mine:
        for collection, row in made.items():
            assert_problem(await mine.get(f"/api/v1/{collection}/{row['id']}"), 404)
            assert (await mine.get(f"/api/v1/{collection}")).json()["items"] == [], collection
            etag = (await client.get(f"/api/v1/{collection}/{row['id']}")).headers["etag"]
            assert_problem(await mine.patch(f"/api/v1/{collection}/{row['id']}", json={}, headers={"If-Match": etag}), 404)
            if collection != "risks":  # closed, never deleted
                assert_problem(await mine.delete(f"/api/v1/{collection}/{row['id']}", headers={"If-Match": etag}), 404)
        assert_problem(await mine.get(f"/api/v1/risks/{made['risks']['id']}/ratings"), 404)
        assert_problem(await mine.post(f"/api/v1/meetings/{meeting['id']}/pack", json={"format": "json"}), 404)
        # Nor can our records point at theirs.
        refused = {
            "decisions": {"meeting_id": meeting["id"], "text": "x"},
            "meeting-actions": {"meeting_id": meeting["id"], "title": "x"},
            "risks": {"plan_id": plan["id"], "ref": "R9", "title": "x", "likelihood": 1, "impact": 1},
            "impact-statements": {"concern_id": concern["id"], "narrative": "n", "judgement": "partial_progress", "judgement_reason": "r"},
            "meetings": {"board_id": board["id"], "title": "x", "held_on": "2026-11-10"},
        }
        for collection, body in refused.items():
            assert_problem(await mine.post(f"/api/v1/{collection}", json=body), 422)
        our_meeting = await post(
            mine,
            "meetings",
            {
                "board_id": (
                    await post(mine, "boards", {"partnership_id": ours.partnership["id"], "name": "DG", "kind": "delivery_group"})
                )["id"],
                "title": "x",
                "held_on": "2026-11-10",
            },
        )
        linked = await mine.post(
            "/api/v1/decisions",
            json={
                "meeting_id": our_meeting["id"],
                "text": "x",
                "status": "proposed",
                "action_ids": [action["id"]],
                "risk_ids": [made["risks"]["id"]],
            },
        )
        assert [e["pointer"] for e in assert_problem(linked, 422)["errors"]] == ["/action_ids/0", "/risk_ids/0"]
