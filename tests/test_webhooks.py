"""Webhooks end to end: real receivers on 127.0.0.1 verifying Standard Webhooks signatures with the
reference library, retries, 410, outbound address checks, redelivery, and two workers racing."""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from app.core.config import Settings
from app.core.db import Database
from app.integrations.webhooks import deliver_due
from app.main import create_app
from tests.factories import make_action, make_partnership, make_world, post
from tests.test_conventions import assert_problem


class Receiver:
    """An HTTP endpoint that records what it receives; `script` gives the status of each successive request,
    `delay` the seconds it takes to answer."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.script.pop(0) if receiver.script else 204
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        hook = Webhook(secret)
        return [hook.verify(body, headers) for headers, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def subscribe(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/webhook-subscriptions", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_change_is_delivered_signed_with_a_thin_payload(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    w = await make_world(client)
    sub = await subscribe(client, receiver.url, partnership_id=w.partnership["id"])
    assert sub["secret"].startswith("whsec_")
    assert "secret" not in (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}")).json()
    action = await make_action(client, w.plan, w.concerns[:1], title="Watched")
    assert await deliver_due(db, settings) == 1
    [event] = receiver.verified(sub["secret"])
    assert event == {"type": "action.created", "id": action["id"], "plan_id": w.plan["id"], "occurred_at": event["occurred_at"]}
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("succeeded", 1, 204)]
    assert receiver.received[0][0]["webhook-id"] == log[0]["event_id"]
    assert await deliver_due(db, settings) == 0


async def test_event_types_filter_and_person_left(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"], event_types=["person.left"])
    rows = [{"external_id": "L1", "display_name": "Leaving"}, {"external_id": "S1", "display_name": "Staying"}]
    await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "upsert", "people": rows})
    await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": rows[1:]})
    await deliver_due(db, settings)
    events = receiver.verified(sub["secret"])
    assert [e["type"] for e in events] == ["person.left"]


async def test_failures_are_retried_until_the_receiver_recovers(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    receiver.script = [500, 503]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "ICB", "kind": "icb"})
    for _ in range(3):
        await deliver_due(db, settings)
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("succeeded", 3)]
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1
    assert len(receiver.verified(sub["secret"])) == 3


async def test_410_disables_the_subscription(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    receiver.script = [410]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await deliver_due(db, settings)
    state = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}")).json()
    assert state["active"] is False and "410" in state["disabled_reason"]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "B", "kind": "other"})
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [d["status"] for d in log] == ["dead"]


async def test_a_failed_write_sends_nothing(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "Same", "kind": "other"})
    duplicate = await client.post("/api/v1/organisations", json={"partnership_id": p["id"], "name": "Same", "kind": "other"})
    assert duplicate.status_code == 409
    await deliver_due(db, settings)
    assert len(receiver.received) == 1


async def test_redeliver(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await deliver_due(db, settings)
    [delivery] = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert (await client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver")).status_code == 200
    await deliver_due(db, settings)
    assert [h["webhook-id"] for h, _ in receiver.received] == [delivery["event_id"]] * 2
    assert_problem(await client.post(f"/api/v1/webhook-deliveries/{uuid.uuid4()}/redeliver"), 404)


async def test_private_and_local_destinations_are_refused(settings: Settings, db: Database, admin_token: str) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(strict, database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as c:
        for url in (
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
            "http://224.0.0.1/x",
            "ftp://example.org/",
        ):
            body = assert_problem(await c.post("/api/v1/webhook-subscriptions", json={"url": url}), 422)
            assert body["errors"][0]["pointer"] == "/url", url


async def test_delivery_rechecks_the_destination(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await deliver_due(db, settings.model_copy(update={"webhook_allow_private": False}))
    assert receiver.received == []


@pytest.mark.postgres_only
async def test_two_worker_processes_never_send_an_event_twice(client: httpx.AsyncClient, database_url: str, receiver: Receiver) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    for i in range(40):
        await post(client, "organisations", {"partnership_id": p["id"], "name": f"Org {i}", "kind": "other"})
    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_WEBHOOK_ALLOW_PRIVATE": "true", "WSOA_LOG_LEVEL": "WARNING"}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "worker", "--once", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(w.communicate() for w in workers))
    assert all(w.returncode == 0 for w in workers), [r[1].decode()[-500:] for r in results]
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert json.loads(receiver.received[0][1])["type"] == "organisation.created"


async def test_the_readme_verification_snippet_accepts_ours_and_refuses_forgeries(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await deliver_due(db, settings)
    headers, body = receiver.received[0]
    hook = Webhook(sub["secret"])
    assert hook.verify(body, headers)["type"] == "organisation.created"
    with pytest.raises(WebhookVerificationError):
        hook.verify(body.replace(b"organisation", b"plan"), headers)


async def test_unresolvable_hosts_are_422_not_500(settings: Settings, db: Database, admin_token: str) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(strict, database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as c:
        for url in ("https://" + "a" * 300 + ".example/x", "https://exa\u2028mple.org/x"):  # refused before any lookup
            assert_problem(await c.post("/api/v1/webhook-subscriptions", json={"url": url}), 422)


async def test_reactivating_clears_the_reason_in_one_audited_change(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    receiver.script = [410]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await deliver_due(db, settings)
    url = f"/api/v1/webhook-subscriptions/{sub['id']}"
    back = await client.patch(url, json={"active": True}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    assert back.status_code == 200 and back.json()["active"] is True and back.json()["disabled_reason"] is None
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": sub["id"], "action": "update"})).json()["items"]
    assert trail[-1]["changes"]["disabled_reason"][1] is None and trail[-1]["changes"]["active"] == [False, True]
