"""Share links and exports after the security review: board packs never shared, tokens never logged, exports not
rendered twice for the same request and data, a quota of costly formats, and expiry moments no date can hold."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from structlog.testing import CapturingLogger

from app.core import observability, ratelimit
from app.core.auth import hash_token
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models import ShareLink
from tests.factories import make_world
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch

HALF_PAST = 1_800_000_000.0 - (1_800_000_000 % 3600) + 1800  # half an hour into an hour: 1800 s left


async def export(client: httpx.AsyncClient, plan_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/plans/{plan_id}/exports", json={"format": "json", "audience": "inspectors", **body})


async def test_board_packs_are_never_shared_by_link(client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    board = (await export(client, w.plan["id"], audience="board")).json()
    refused = await client.post(f"/api/v1/exports/{board['id']}/share-links", json={})
    assert_problem(refused, 409, "/problems/share-link-audience")
    assert "`inspectors`" in refused.json()["detail"] and "`public`" in refused.json()["detail"]
    assert (await client.get("/api/v1/share-links", params={"export_id": board["id"]})).json()["items"] == []

    for audience in ("inspectors", "public"):
        made = (await export(client, w.plan["id"], audience=audience)).json()
        assert (await client.post(f"/api/v1/exports/{made['id']}/share-links", json={})).status_code == 201

    # A link made to a board pack before the rule: it no longer opens, and the refusal is not counted as an access.
    token = "made-before-board-packs-stopped-being-shared-0123456789"
    now = datetime.now(UTC)
    link_id = uuid.uuid4()
    async with unit_of_work(db) as session:
        await session.execute(
            insert(ShareLink).values(
                id=link_id,
                created_at=now,
                updated_at=now,
                partnership_id=uuid.UUID(board["partnership_id"]),
                export_id=uuid.UUID(board["id"]),
                token_hash=hash_token(token),
                expires_at=now + timedelta(days=7),
                created_by="key:earlier",
            )
        )
    gone = await anon.get(f"/api/v1/shared/{token}")
    assert_problem(gone, 410, "/problems/share-link-audience")
    assert b"@" not in gone.content and "board" not in gone.headers.get("content-disposition", "")
    seen = (await client.get(f"/api/v1/share-links/{link_id}")).json()
    assert seen["access_count"] == 0


async def test_request_logs_never_carry_a_share_token(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_world(client)
    made = (await export(client, w.plan["id"], format="html")).json()
    link = (await client.post(f"/api/v1/exports/{made['id']}/share-links", json={})).json()
    captured = CapturingLogger()
    monkeypatch.setattr(observability, "log", captured)

    assert (await anon.get(f"/api/v1/shared/{link['token']}")).status_code == 200
    assert (await anon.get(f"/api/v1/shared/{link['token']}")).status_code == 200
    assert_problem(await anon.get("/api/v1/shared/a-token-that-opens-nothing"), 404, "/problems/not-found")

    lines = [call.kwargs for call in captured.calls if call.args == ("request",)]
    assert len(lines) == 3
    assert link["token"] not in repr(captured.calls) and "a-token-that-opens-nothing" not in repr(captured.calls)
    assert {line["path"] for line in lines} == {"/api/v1/shared/<redacted>"}
    assert [line.get("share_link") for line in lines] == [link["id"], link["id"], None]

    # Any other log line that carries such a path (an error's, a library's) loses the token too.
    event = observability._redact_paths(None, "warning", {"event": f"GET http://x/api/v1/shared/{link['token']} failed"})
    assert link["token"] not in event["event"] and "/api/v1/shared/<redacted>" in event["event"]


async def test_an_identical_export_request_gets_the_export_already_made(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    first = await export(client, w.plan["id"], format="csv")
    assert first.status_code == 201, first.text
    again = await export(client, w.plan["id"], format="csv", as_of=first.json()["as_of"])
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["sha256"] == first.json()["sha256"]
    assert again.headers["content-location"].endswith(f"/api/v1/exports/{first.json()['id']}")
    assert (await export(client, w.plan["id"], format="csv", audience="public")).status_code == 201  # another audience
    assert (await export(client, w.plan["id"], format="json")).status_code == 201  # another format
    listed = (await client.get("/api/v1/exports", params={"plan_id": w.plan["id"], "format": "csv"})).json()["items"]
    assert len(listed) == 2
    events = (await client.get("/api/v1/audit-events", params={"entity_id": first.json()["id"]})).json()["items"]
    assert [e["action"] for e in events] == ["export"]

    # Once the data the pack shows has changed, the same request makes a new export.
    assert (await patch(client, f"actions/{w.action['id']}", {"title": "A title the pack shows"})).status_code == 200
    changed = await export(client, w.plan["id"], format="csv")
    assert changed.status_code == 201 and changed.json()["id"] != first.json()["id"]


async def test_identical_export_requests_made_at_once_make_one_export(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    for export_format in ("csv", "json", "html"):
        answers = await asyncio.gather(*(export(client, w.plan["id"], format=export_format) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [200, 200, 201], [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    made = (await client.get("/api/v1/exports", params={"plan_id": w.plan["id"]})).json()["items"]
    assert sorted(e["format"] for e in made) == ["csv", "html", "json"]


async def test_pdf_html_and_xlsx_exports_have_an_hourly_quota_per_key(
    app: Any, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "clock", lambda: HALF_PAST)
    monkeypatch.setattr(app.state.settings, "export_heavy_per_hour", 2)
    w = await make_world(client)
    assert (await export(client, w.plan["id"], format="html")).status_code == 201
    assert (await export(client, w.plan["id"], format="html", audience="public")).status_code == 201
    refused = await export(client, w.plan["id"], format="pdf")
    assert_problem(refused, 429, "/problems/rate-limited")
    assert refused.headers["retry-after"] == "1800"
    assert (await export(client, w.plan["id"], format="html")).status_code == 200  # the export already made: no quota
    assert (await export(client, w.plan["id"], format="csv")).status_code == 201  # not a costly format
    assert_problem(await export(client, w.plan["id"], format="xlsx"), 429, "/problems/rate-limited")  # a costly one
    assert len((await client.get("/api/v1/exports", params={"plan_id": w.plan["id"], "format": "pdf"})).json()["items"]) == 0
    monkeypatch.setattr(ratelimit, "clock", lambda: HALF_PAST + 1800)  # the next hour
    assert (await export(client, w.plan["id"], format="pdf")).status_code == 201


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"])
async def test_an_expiry_no_date_can_hold_is_a_422(client: httpx.AsyncClient, moment: str) -> None:
    w = await make_world(client)
    made = (await export(client, w.plan["id"])).json()
    resp = await client.post(f"/api/v1/exports/{made['id']}/share-links", json={"expires_at": moment})
    assert_problem(resp, 422, "/problems/validation")
    assert resp.json()["errors"][0]["pointer"] == "/expires_at"


@pytest.mark.postgres_only
async def test_exports_being_rendered_hold_no_database_connection(
    settings: Any, database_url: str, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While packs render, other writes go on: neither the wait for an identical request nor the rendering itself
    holds a connection of the pool (here two connections, three packs rendering for a second and a half)."""
    import time

    from app.exports import service
    from app.main import create_app

    plans = [(await make_world(client)).plan for _ in range(3)]
    rendered = service.render

    def slow(pack: dict[str, Any], export_format: Any) -> bytes:
        time.sleep(1.5)
        return rendered(pack, export_format)

    monkeypatch.setattr(service, "render", slow)
    small = Database(database_url, pool_size=2)
    try:
        app = create_app(settings.model_copy(update={"export_heavy_per_hour": 0}), small)
        headers = {"Authorization": client.headers["authorization"]}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as c:
            packs = [asyncio.create_task(export(c, p["id"], format="html")) for p in plans]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            other = await c.post("/api/v1/partnerships", json={"name": "Elsewhere", "la_code": "991"})
            took = time.monotonic() - started
            assert other.status_code == 201 and took < 1.0, (other.status_code, took)
            assert sorted(r.status_code for r in await asyncio.gather(*packs)) == [201, 201, 201]
    finally:
        await small.dispose()
