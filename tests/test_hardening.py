"""Body limits, CORS by allow-list, security headers, and OWASP API3 for contributors."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_world, post
from tests.servers import free_port
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
    for page in ("/docs", "/redoc"):  # the documentation pages load their own scripts and styles, and nothing else
        policy = (await anon.get(page)).headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "http" not in policy


async def test_an_error_inside_a_middleware_is_a_problem_with_the_request_id(
    backend: str, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """The Idempotency-Key bookkeeping runs before any route: a database it cannot reach (nothing listens on the
    port; a SQLite file in a folder that does not exist) is answered as a problem carrying X-Request-Id and the
    security headers, by the service and not by the server's last-resort handler."""
    if backend == "postgres":
        absent = make_url(database_url).set(port=free_port()).render_as_string(hide_password=False)
    else:
        absent = f"sqlite:///{tmp_path / 'no-such-folder' / 'wsoa.db'}"
    database = Database(absent)
    app = create_app(settings.model_copy(update={"database_url": absent}), database=database)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            response = await c.post(
                "/api/v1/plans",
                json={"title": "x"},
                headers={"Authorization": "Bearer wsoa_x_y", "Idempotency-Key": "k1", "X-Request-ID": "req-42"},
            )
    finally:
        await database.dispose()
    body = assert_problem(response, 503 if backend == "postgres" else 500)
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["x-content-type-options"] == "nosniff"
    if backend == "postgres":
        assert "retry-after" in response.headers and "not reachable" in body["detail"]


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
