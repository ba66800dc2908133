"""Each convention of the contract, through HTTP; every test here fails if its convention breaks."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.db import Database
from app.core.uow import unit_of_work
from tests.factories import make_partnership, make_person, make_world

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    if type_ is not None:
        assert body["type"] == type_
    return body


async def test_list_envelope_and_link_header(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await make_partnership(client)
    first = await client.get("/api/v1/partnerships", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"items", "next_cursor"}
    assert len(body["items"]) == 2 and body["next_cursor"]
    link = first.headers["link"]
    match = re.fullmatch(r'<(.+)>; rel="next"', link)
    assert match is not None
    second = await client.get(match.group(1))
    assert second.status_code == 200
    rest = second.json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None and "link" not in second.headers
    ids = [i["id"] for i in body["items"] + rest["items"]]
    assert len(set(ids)) == 3


async def test_list_is_ordered_by_created_at_then_id_and_sort_reverses(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        await make_partnership(client)
    items = (await client.get("/api/v1/partnerships")).json()["items"]
    keys = [(i["created_at"], i["id"]) for i in items]
    assert keys == sorted(keys)
    newest = (await client.get("/api/v1/partnerships", params={"sort": "-created_at"})).json()["items"]
    assert [i["id"] for i in newest] == [i["id"] for i in reversed(items)]


async def test_limit_bounds(client: httpx.AsyncClient) -> None:
    for bad in ("0", "201", "ten"):
        body = assert_problem(await client.get("/api/v1/actions", params={"limit": bad}), 422, "/problems/validation")
        assert body["errors"][0]["pointer"] == "/limit"


async def test_unknown_filter_is_rejected(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/actions", params={"colour": "red"}), 422)
    assert body["errors"] == [{"pointer": "/colour", "message": "Unknown query parameter"}]


async def test_field_filters(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    other = await make_partnership(client)
    await make_person(client, other)
    people = (await client.get("/api/v1/people", params={"partnership_id": w.partnership["id"]})).json()["items"]
    assert [p["id"] for p in people] == [w.owner["id"]]
    plans = (await client.get("/api/v1/plans", params={"status": "draft"})).json()["items"]
    assert [p["id"] for p in plans] == [w.plan["id"]]
    assert (await client.get("/api/v1/plans", params={"status": "closed"})).json()["items"] == []
    assert_problem(await client.get("/api/v1/plans", params={"status": "finished"}), 422)


async def test_bad_cursor_is_a_422(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/plans", params={"cursor": "not-a-cursor"}), 422)
    assert body["errors"][0]["pointer"] == "/cursor"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", content=b'{"name": ', headers={"content-type": "application/json"})
    assert_problem(response, 400, "/problems/malformed-request")


async def test_top_level_array_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", json=[{"name": "x", "la_code": "123"}])
    assert_problem(response, 422)
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415, "/problems/unsupported-media-type")


async def test_unknown_path_is_404_and_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "/problems/not-found")
    assert_problem(await client.put("/api/v1/partnerships"), 405, "/problems/method-not-allowed")


async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/actions/2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59"), 404, "/problems/not-found")
    assert_problem(await client.get("/api/v1/actions/not-a-uuid"), 404)


async def test_invalid_fields_are_422_with_pointers_and_change_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", json={"name": "", "la_code": "12345", "timezone": "Mars/Olympus"})
    body = assert_problem(response, 422, "/problems/validation")
    assert {e["pointer"] for e in body["errors"]} == {"/name", "/la_code", "/timezone"}
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


async def test_unknown_and_read_only_fields_are_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", json={"name": "A", "la_code": "123", "version": 7, "colour": "red"})
    body = assert_problem(response, 422)
    assert {e["pointer"] for e in body["errors"]} == {"/version", "/colour"}


async def test_duplicate_ref_is_409(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    response = await client.post(
        "/api/v1/concerns", json={"plan_id": w.plan["id"], "ref": w.concerns[0]["ref"], "kind": "recommendation", "title": "Again"}
    )
    assert_problem(response, 409, "/problems/duplicate-ref")


async def test_create_returns_201_location_etag_and_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", json={"name": "Wessex", "la_code": "990"})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"http://test/api/v1/partnerships/{body['id']}"
    assert body["version"] == 1 and body["timezone"] == "Europe/London"
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == body
    assert fetched.headers["etag"] == response.headers["etag"]


async def test_etag_if_none_match_gives_304(client: httpx.AsyncClient) -> None:
    created = await make_partnership(client)
    first = await client.get(f"/api/v1/partnerships/{created['id']}")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"1-[0-9a-f]+"', etag)
    again = await client.get(f"/api/v1/partnerships/{created['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    stale = await client.get(f"/api/v1/partnerships/{created['id']}", headers={"If-None-Match": '"0-000000000000"'})
    assert stale.status_code == 200


async def test_patch_needs_if_match(client: httpx.AsyncClient) -> None:
    created = await make_partnership(client)
    url = f"/api/v1/partnerships/{created['id']}"
    assert_problem(await client.patch(url, json={"name": "B"}), 428, "/problems/precondition-required")
    assert_problem(await client.patch(url, json={"name": "B"}, headers={"If-Match": '"9-abc"'}), 412, "/problems/precondition-failed")
    etag = (await client.get(url)).headers["etag"]
    ok = await client.patch(url, json={"name": "B"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["name"] == "B" and ok.json()["version"] == 2
    assert ok.headers["etag"] != etag
    assert_problem(await client.patch(url, json={"name": "C"}, headers={"If-Match": etag}), 412)
    assert (await client.get(url)).json()["name"] == "B"


async def test_delete_needs_if_match_and_returns_204(client: httpx.AsyncClient) -> None:
    created = await make_partnership(client)
    url = f"/api/v1/partnerships/{created['id']}"
    assert_problem(await client.delete(url), 428)
    assert_problem(await client.delete(url, headers={"If-Match": '"1-000000000000"'}), 412)
    response = await client.delete(url, headers={"If-Match": (await client.get(url)).headers["etag"]})
    assert response.status_code == 204 and response.content == b""
    assert_problem(await client.get(url), 404)


async def test_merge_patch_null_clears_absent_keeps(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    person = await make_person(client, p, email="a@b.example", job_title="Lead")
    url = f"/api/v1/people/{person['id']}"
    etag = (await client.get(url)).headers["etag"]
    response = await client.patch(url, json={"email": None}, headers={"If-Match": etag, "content-type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] is None and body["job_title"] == "Lead" and body["display_name"] == person["display_name"]


async def test_merge_patch_null_on_required_field_is_422(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    url = f"/api/v1/partnerships/{p['id']}"
    etag = (await client.get(url)).headers["etag"]
    body = assert_problem(await client.patch(url, json={"name": None}, headers={"If-Match": etag}), 422)
    assert body["errors"][0]["pointer"] == "/name"


async def test_patch_cannot_move_a_resource_to_another_parent(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/concerns/{w.concerns[0]['id']}"
    etag = (await client.get(url)).headers["etag"]
    body = assert_problem(await client.patch(url, json={"plan_id": w.plan["id"]}, headers={"If-Match": etag}), 422)
    assert body["errors"][0]["pointer"] == "/plan_id"


async def test_missing_or_bad_credentials_are_401(anon: httpx.AsyncClient, db: Database) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer wsoa_nope_nope"}, {"Authorization": "Bearer garbage"}):
        response = await anon.get("/api/v1/plans", headers=headers)
        assert_problem(response, 401, "/problems/unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_key_is_401(client: httpx.AsyncClient, db: Database, admin_token: str) -> None:
    from app.apikeys.service import revoke_key

    assert (await client.get("/api/v1/plans")).status_code == 200
    async with unit_of_work(db) as session:
        await revoke_key(session, prefix=admin_token.split("_")[1])
    assert_problem(await client.get("/api/v1/plans"), 401)


async def test_idempotency_key_replays_the_first_response(client: httpx.AsyncClient) -> None:
    body = {"name": "Once", "la_code": "555"}
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/partnerships", json=body, headers=headers)
    again = await client.post("/api/v1/partnerships", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert len((await client.get("/api/v1/partnerships")).json()["items"]) == 1


async def test_idempotency_key_with_a_different_body_is_422(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-2"}
    assert (await client.post("/api/v1/partnerships", json={"name": "A", "la_code": "556"}, headers=headers)).status_code == 201
    response = await client.post("/api/v1/partnerships", json={"name": "B", "la_code": "557"}, headers=headers)
    assert_problem(response, 422, "/problems/idempotency-key-reused")
    assert len((await client.get("/api/v1/partnerships")).json()["items"]) == 1


def _claim_of(client: httpx.AsyncClient, key: str, path: str, body: bytes) -> Any:
    import hashlib

    from app.core.idempotency import Claim

    scope = hashlib.sha256(client.headers["authorization"].encode()).hexdigest()
    return Claim(scope, key, path, hashlib.sha256(b"\n".join([path.encode(), b"", body])).hexdigest(), 24)


async def test_idempotency_key_while_first_runs_is_409(client: httpx.AsyncClient) -> None:
    from app.core import idempotency

    body = b'{"name":"Slow","la_code":"558"}'
    claim = _claim_of(client, "k-3", "/api/v1/partnerships", body)
    assert idempotency.in_flight_here(claim) is None  # the key's first request is running in this process
    try:
        response = await client.post(
            "/api/v1/partnerships", content=body, headers={"Idempotency-Key": "k-3", "content-type": "application/json"}
        )
    finally:
        idempotency.release_here(claim)
    assert_problem(response, 409, "/problems/idempotency-in-flight")
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


@pytest.mark.postgres_only
async def test_idempotency_key_running_in_another_process_is_409(client: httpx.AsyncClient, db: Database) -> None:
    """The key's lock is held by another transaction (as another process running the first request would)."""
    body = b'{"name":"Elsewhere","la_code":"562"}'
    claim = _claim_of(client, "k-6", "/api/v1/partnerships", body)
    async with db.engine.connect() as other:
        await other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": claim.lock_id})
        response = await client.post(
            "/api/v1/partnerships", content=body, headers={"Idempotency-Key": "k-6", "content-type": "application/json"}
        )
        await other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": claim.lock_id})
    assert_problem(response, 409, "/problems/idempotency-in-flight")
    again = await client.post("/api/v1/partnerships", content=body, headers={"Idempotency-Key": "k-6", "content-type": "application/json"})
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers


async def test_concurrent_requests_with_one_key_write_once(client: httpx.AsyncClient) -> None:
    body = {"name": "Race", "la_code": "559"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/partnerships", json=body, headers={"Idempotency-Key": "k-4"}) for _ in range(4))
    )
    assert {r.status_code for r in responses} <= {201, 409}
    assert sum(r.status_code == 201 and "idempotent-replayed" not in r.headers for r in responses) == 1
    assert len((await client.get("/api/v1/partnerships")).json()["items"]) == 1


async def test_client_error_responses_are_replayed_too(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-5"}
    await make_partnership(client, la_code="560")
    first = await client.post("/api/v1/partnerships", json={"name": "Dup", "la_code": "560"}, headers=headers)
    assert first.status_code == 409
    replay = await client.post("/api/v1/partnerships", json={"name": "Dup", "la_code": "560"}, headers=headers)
    assert replay.status_code == 409 and replay.headers.get("idempotent-replayed") == "true"


async def test_overlong_idempotency_key_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/partnerships", json={"name": "A", "la_code": "561"}, headers={"Idempotency-Key": "k" * 256})
    assert_problem(response, 422)


async def test_request_id_is_honoured_or_assigned(client: httpx.AsyncClient) -> None:
    given = await client.get("/api/v1/plans", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/api/v1/plans", headers={"X-Request-ID": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])


async def test_nul_characters_are_422_not_500(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/api/v1/partnerships", json={"name": "A\u0000B", "la_code": "562"}), 422)
    assert "NUL" in body["errors"][0]["message"]
    assert_problem(await client.get("/api/v1/people", params={"external_id": "x\u0000"}), 422)
    assert (await client.get("/api/v1/partnerships")).json()["items"] == []


async def test_naive_updated_since_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/plans", params={"updated_since": "2026-01-01T00:00:00"}), 422)
    ok = await client.get("/api/v1/plans", params={"updated_since": "2026-01-01T00:00:00Z"})
    assert ok.status_code == 200


async def test_empty_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    created = await make_partnership(client)
    url = f"/api/v1/partnerships/{created['id']}"
    etag = (await client.get(url)).headers["etag"]
    for body in ({}, {"name": created["name"]}):
        response = await client.patch(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200 and response.json()["version"] == 1 and response.headers["etag"] == etag


async def test_405_names_every_allowed_method(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/partnerships")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
    item = await client.put("/api/v1/partnerships/2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59")
    assert item.headers["allow"] == "DELETE, GET, PATCH"


async def test_null_on_a_validated_required_field_is_422(client: httpx.AsyncClient) -> None:
    created = await make_partnership(client)
    url = f"/api/v1/partnerships/{created['id']}"
    etag = (await client.get(url)).headers["etag"]
    body = assert_problem(await client.patch(url, json={"timezone": None}, headers={"If-Match": etag}), 422)
    assert body["errors"][0]["pointer"] == "/timezone"
