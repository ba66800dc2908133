"""The admin API for keys: the token once, never the hash, revocation that bites, scope by partnership."""

import uuid
from typing import Any

import httpx

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership, make_person
from tests.test_conventions import assert_problem


async def test_create_shows_the_token_once_and_it_works(app: Any, client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    response = await client.post("/api/v1/api-keys", json={"name": "HR sync", "role": "hr_integration", "partnership_id": p["id"]})
    assert response.status_code == 201, response.text
    created = response.json()
    token = created["token"]
    assert token.startswith(f"wsoa_{created['prefix']}_") and len(token.split("_", 2)[2]) >= 22
    assert "wsoa-idempotency-redact" not in response.headers
    fetched = (await client.get(response.headers["location"])).json()
    assert "token" not in fetched and "token_hash" not in fetched and fetched["role"] == "hr_integration"
    listed = (await client.get("/api/v1/api-keys")).json()["items"]
    assert all("token_hash" not in k and "token" not in k for k in listed)
    used = await anon.get("/api/v1/people", headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 200
    assert (await client.get(response.headers["location"])).json()["last_used_at"] is not None


async def test_a_replayed_create_never_shows_the_token_again(client: httpx.AsyncClient, db: Database) -> None:
    from sqlalchemy import select

    from app.models import IdempotencyRecord

    body = {"name": "Board pack bot", "role": "admin"}
    first = await client.post("/api/v1/api-keys", json=body, headers={"Idempotency-Key": "key-1"})
    again = await client.post("/api/v1/api-keys", json=body, headers={"Idempotency-Key": "key-1"})
    assert first.json()["token"] and again.json()["token"] is None
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    async with unit_of_work(db) as session:
        stored = (await session.execute(select(IdempotencyRecord.response_body))).scalars().all()
    assert all(first.json()["token"].encode() not in (b or b"") for b in stored)


async def test_revoked_through_the_api_stops_working(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/api-keys", json={"name": "Temp", "role": "admin"})).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert (await anon.get("/api/v1/plans", headers=auth)).status_code == 200
    url = f"/api/v1/api-keys/{created['id']}"
    assert_problem(await client.delete(url), 428)
    etag = (await client.get(url)).headers["etag"]
    assert (await client.delete(url, headers={"If-Match": etag})).status_code == 204
    assert_problem(await anon.get("/api/v1/plans", headers=auth), 401)
    assert (await client.get(url)).json()["revoked_at"] is not None


async def test_bad_key_requests_are_422(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "lead"}), 422)
    assert body["errors"][0]["pointer"] == "/partnership_id"
    assert_problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "superuser"}), 422)
    assert_problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "admin", "token_hash": "abc"}), 422)


async def test_a_partnership_admin_manages_its_own_keys_only(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    ours, theirs = await make_partnership(client), await make_partnership(client)
    person = await make_person(client, ours)
    their_key = (await client.post("/api/v1/api-keys", json={"name": "Theirs", "role": "lead", "partnership_id": theirs["id"]})).json()
    token = await new_token(db, Role.admin, partnership_id=uuid.UUID(ours["id"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}) as local:
        mine = await local.post(
            "/api/v1/api-keys", json={"name": "Mine", "role": "contributor", "partnership_id": ours["id"], "person_id": person["id"]}
        )
        assert mine.status_code == 201
        assert_problem(await local.post("/api/v1/api-keys", json={"name": "x", "role": "lead", "partnership_id": theirs["id"]}), 403)
        assert_problem(await local.get(f"/api/v1/api-keys/{their_key['id']}"), 404)
        listed = {k["name"] for k in (await local.get("/api/v1/api-keys")).json()["items"]}
        assert "Theirs" not in listed and "Mine" in listed


async def test_expired_key_is_401(db: Database, anon: httpx.AsyncClient) -> None:
    from datetime import date, timedelta

    from sqlalchemy import update

    from app.models import ApiKey

    token = await new_token(db, Role.admin)
    async with unit_of_work(db) as session:
        await session.execute(update(ApiKey).values(expires_on=date.today() - timedelta(days=1)))
        await session.commit()
    assert_problem(await anon.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"}), 401)
