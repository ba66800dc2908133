"""Body limits, CORS by allow-list, security headers, and OWASP API3 for contributors."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_world, post
from tests.test_conventions import assert_problem


async def test_an_oversized_body_is_413_and_changes_nothing(client: httpx.AsyncClient) -> None:
    big = {"name": "x" * 2_000_000, "la_code": "999"}
    response = await client.post("/api/v1/partnerships", json=big)
    assert_problem(response, 413, "/problems/payload-too-large")
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


async def test_an_oversized_streamed_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"y" * 65_536
        yield b'", "la_code": "998"}'

    for headers in ({"Idempotency-Key": "big-1"}, {}):
        response = await client.post("/api/v1/partnerships", content=chunks(), headers={"content-type": "application/json", **headers})
        assert_problem(response, 413, "/problems/payload-too-large")
        assert response.headers["x-request-id"]
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


async def test_security_headers_on_every_answer(client: httpx.AsyncClient, anon: httpx.AsyncClient) -> None:
    for response in (await client.get("/api/v1/plans"), await anon.get("/api/v1/plans"), await anon.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in response.headers  # plain HTTP
    assert "content-security-policy" not in (await anon.get("/docs")).headers


async def test_hsts_over_tls(app: Any, admin_token: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://wsoa.example") as tls:
        response = await tls.get("/api/v1/plans", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.fixture
async def cors_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"cors_origins": "https://send.council.example"}), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_cors_answers_allowed_origins_only(cors_client: httpx.AsyncClient, admin_token: str) -> None:
    preflight = {"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization,if-match"}
    allowed = await cors_client.options("/api/v1/plans", headers={"Origin": "https://send.council.example", **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://send.council.example"
    refused = await cors_client.options("/api/v1/plans", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = await cors_client.get(
        "/api/v1/plans", headers={"Origin": "https://send.council.example", "Authorization": f"Bearer {admin_token}"}
    )
    assert "etag" in simple.headers["access-control-expose-headers"].lower() or "ETag" in simple.headers["access-control-expose-headers"]


async def test_no_cors_without_an_allow_list(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/healthz", headers={"Origin": "https://send.council.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_api3_a_contributor_cannot_set_what_it_may_not(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    """OWASP API3: fields outside the caller's rights are refused (403), read-only fields are rejected (422), never ignored."""
    w = await make_world(client)
    milestone = await post(client, "milestones", {"action_id": w.action["id"], "title": "M", "due_on": "2030-01-01"})
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as me:
        url = f"/api/v1/milestones/{milestone['id']}"
        etag = (await me.get(url)).headers["etag"]
        for body in ({"version": 9}, {"created_at": "2020-01-01T00:00:00Z"}, {"id": str(uuid.uuid4())}, {"action_id": w.action["id"]}):
            assert_problem(await me.patch(url, json=body, headers={"If-Match": etag}), 422)
        assert_problem(await me.patch(url, json={"due_on": "2031-01-01"}, headers={"If-Match": etag}), 403)
        action_etag = (await me.get(f"/api/v1/actions/{w.action['id']}")).headers["etag"]
        assert_problem(await me.patch(f"/api/v1/actions/{w.action['id']}", json={"owner_id": None}, headers={"If-Match": action_etag}), 403)
    after = (await client.get(f"/api/v1/milestones/{milestone['id']}")).json()
    assert after["version"] == 1 and after["due_on"] == "2030-01-01"
