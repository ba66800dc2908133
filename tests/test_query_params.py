"""A query parameter an operation does not declare is refused with 422 naming it, on every route, reads and
writes alike, before anything runs: a guessed parameter never changes what a write does."""

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from app.core.db import Database
from app.core.routing import KnownQueryRoute, declared_query_parameters
from tests.factories import make_partnership, make_world, post
from tests.test_conventions import assert_problem

UNKNOWN = [{"pointer": "/surprise", "message": "Unknown query parameter"}]


def api_routes(app: Any) -> list[tuple[str, str, KnownQueryRoute]]:
    """Every operation of the app, the API's and the platform's (`/healthz`, `/readyz`, `/metrics`) alike."""
    operations = [route for route in app.routes if isinstance(route, APIRoute)]
    assert all(isinstance(route, KnownQueryRoute) for route in operations), [
        r.path for r in operations if not isinstance(r, KnownQueryRoute)
    ]
    return [(method, route.path, route) for route in operations for method in sorted(route.methods)]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "x" if m.group(0) == "{token}" else str(uuid.uuid4()), path)


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


async def test_every_operation_refuses_an_unknown_query_parameter(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    routes = api_routes(app)
    methods = {method for method, _, _ in routes}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods and len(routes) > 80
    audit_before = await count(db, "audit_event")
    for method, path, _ in routes:
        response = await client.request(method, concrete(path), params={"surprise": "1"}, json={})
        body = assert_problem(response, 422, "/problems/validation")
        assert body["errors"] == UNKNOWN, f"{method} {path}: {body}"
        assert "surprise" in body["detail"], f"{method} {path}"
    assert await count(db, "audit_event") == audit_before


async def test_unknown_parameters_are_refused_before_the_caller_is_even_known(anon: httpx.AsyncClient) -> None:
    body = assert_problem(await anon.post("/api/v1/plans", params={"dry_run": "true", "force": "1"}, json={}), 422)
    assert body["errors"] == [
        {"pointer": "/dry_run", "message": "Unknown query parameter"},
        {"pointer": "/force", "message": "Unknown query parameter"},
    ]
    assert body["detail"].startswith("Unknown query parameters: dry_run, force.")


async def test_writes_with_an_unknown_parameter_change_nothing(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    audit_before, changes_before = await count(db, "audit_event"), await count(db, "change")
    created = await client.post("/api/v1/concerns", params={"validate_only": "true"}, json={**CONCERN, "plan_id": w.plan["id"]})
    assert assert_problem(created, 422)["errors"] == [{"pointer": "/validate_only", "message": "Unknown query parameter"}]
    url = f"/api/v1/plans/{w.plan['id']}"
    current = await client.get(url)
    patched = await client.patch(url, params={"notify": "false"}, json={"title": "Renamed"}, headers={"If-Match": current.headers["etag"]})
    assert_problem(patched, 422)
    deleted = await client.delete(f"/api/v1/concerns/{w.concerns[1]['id']}", params={"cascade": "true"}, headers={"If-Match": "*"})
    assert_problem(deleted, 422)
    after = await client.get(url)
    assert after.json()["title"] == current.json()["title"] and after.headers["etag"] == current.headers["etag"]
    assert (await client.get(f"/api/v1/concerns/{w.concerns[1]['id']}")).status_code == 200
    assert len((await client.get("/api/v1/concerns", params={"plan_id": w.plan["id"]})).json()["items"]) == 2
    assert (await count(db, "audit_event"), await count(db, "change")) == (audit_before, changes_before)


async def test_a_refused_post_leaves_its_idempotency_key_free(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"name": "Keyed Area", "la_code": "777"}
    assert_problem(await client.post("/api/v1/partnerships", params={"retry": "1"}, json=body, headers=headers), 422)
    created = await client.post("/api/v1/partnerships", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert (await client.post("/api/v1/partnerships", json=body, headers=headers)).headers.get("idempotent-replayed") == "true"


async def test_declared_parameters_still_pass(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    assert (await client.get("/api/v1/partnerships", params={"limit": 1, "la_code": p["la_code"]})).status_code == 200
    plan = await post(client, "plans", {"partnership_id": p["id"], "kind": "wsoa", "title": "Plan"})
    history = await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": "2026-01-01"})  # a parameter with an alias
    assert history.status_code == 200, history.text
    sync = await client.post(
        "/api/v1/people/sync",
        params={"partnership_id": p["id"], "mode": "upsert", "dry_run": "false", "allow_mass_deactivation": "false"},
        content=b"external_id,display_name\nQ1,Query Person\n",
        headers={"content-type": "text/csv"},
    )
    assert sync.status_code == 200 and sync.json()["created"] == 1, sync.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/people/sync", {"mode", "partnership_id", "dry_run", "allow_mass_deactivation"}),
        ("/api/v1/plans/{id}/history", {"from", "to", "granularity"}),
        ("/api/v1/plans", {"partnership_id", "inspection_id", "kind", "status", "limit", "cursor", "sort", "updated_since"}),
    ],
)
def test_the_declared_parameters_are_read_from_the_routes(app: Any, path: str, expected: set[str]) -> None:
    found = [declared_query_parameters(route.dependant) for _, p, route in api_routes(app) if p == path]
    assert expected in found, found


def test_the_422_is_documented_on_every_operation(app: Any) -> None:
    schema = app.openapi()
    for method, path, _ in api_routes(app):
        assert "422" in schema["paths"][path][method.lower()]["responses"], f"{method} {path}"


CONCERN = {"ref": "Q1", "kind": "area_of_significant_weakness", "title": "Query concern"}
