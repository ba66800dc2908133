"""Webhooks end to end: real receivers on 127.0.0.1 verifying Standard Webhooks signatures with the
reference library, retries, 410, outbound address checks, redelivery, and two workers racing; deliveries
derived from the committed change feed (`fan_out`), and no transaction held while a receiver answers."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlmodel import col
from standardwebhooks.webhooks import Webhook

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.integrations.webhooks import Outcome, claim_due, deliver_due, fan_out, lease, record
from app.main import create_app
from app.models import Change, WebhookDelivery, WebhookSubscription
from tests.conftest import StatementCounter
from tests.factories import make_action, make_partnership, make_world, post
from tests.test_conventions import assert_problem
from tests.test_evidence import PDF, link, upload


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

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a worker sends its batch at once; the default backlog of 5 would refuse some

        self.server = Server(("127.0.0.1", 0), Handler)
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


async def work(db: Database, settings: Settings) -> int:
    """One round of `wsoa worker`: fan the committed changes out to deliveries, then send what is due."""
    while await fan_out(db):
        pass
    return await deliver_due(db, settings)


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
    assert await work(db, settings) == 1
    [event] = receiver.verified(sub["secret"])
    assert event == {"type": "action.created", "id": action["id"], "plan_id": w.plan["id"], "occurred_at": event["occurred_at"]}
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("succeeded", 1, 204)]
    assert receiver.received[0][0]["webhook-id"] == log[0]["event_id"]
    assert await work(db, settings) == 0


async def test_event_types_filter_and_person_left(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"], event_types=["person.left"])
    rows = [{"external_id": "L1", "display_name": "Leaving"}, {"external_id": "S1", "display_name": "Staying"}]
    await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "upsert", "people": rows})
    # One of two people leaving is half the partnership: past the mass-deactivation guard, so say it is meant.
    left = await client.post(
        "/api/v1/people/sync",
        params={"allow_mass_deactivation": "true"},
        json={"partnership_id": p["id"], "mode": "full", "people": rows[1:]},
    )
    assert left.status_code == 200, left.text
    await work(db, settings)
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
        await work(db, settings)
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
    await work(db, settings)
    state = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}")).json()
    assert state["active"] is False and "410" in state["disabled_reason"]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "B", "kind": "other"})
    assert await work(db, settings) == 0
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [d["status"] for d in log] == ["dead"] and len(receiver.received) == 1


async def test_a_failed_write_sends_nothing(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "Same", "kind": "other"})
    duplicate = await client.post("/api/v1/organisations", json={"partnership_id": p["id"], "name": "Same", "kind": "other"})
    assert duplicate.status_code == 409
    await work(db, settings)
    assert len(receiver.received) == 1


async def test_redeliver(client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await work(db, settings)
    [delivery] = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert (await client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver")).status_code == 200
    await work(db, settings)
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
    await work(db, settings.model_copy(update={"webhook_allow_private": False}))
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
    await work(db, settings)
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
    await work(db, settings)
    url = f"/api/v1/webhook-subscriptions/{sub['id']}"
    back = await client.patch(url, json={"active": True}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    assert back.status_code == 200 and back.json()["active"] is True and back.json()["disabled_reason"] is None
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": sub["id"], "action": "update"})).json()["items"]
    assert trail[-1]["changes"]["disabled_reason"][1] is None and trail[-1]["changes"]["active"] == [False, True]


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.read_session() as session:
        return list((await session.execute(select(WebhookDelivery).order_by(col(WebhookDelivery.created_at)))).scalars())


async def test_progress_milestone_and_evidence_events_carry_their_plan(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    w = await make_world(client)
    sub = await subscribe(client, receiver.url, partnership_id=w.partnership["id"])
    progress = await post(
        client, f"actions/{w.action['id']}/progress-updates", {"rag": "green", "narrative": "On track", "author_id": w.owner["id"]}
    )
    milestone = await post(client, "milestones", {"action_id": w.action["id"], "title": "M", "due_on": "2030-01-01"})
    url = f"/api/v1/milestones/{milestone['id']}"
    renamed = await client.patch(url, json={"title": "Coordinators in post"}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    assert renamed.status_code == 200, renamed.text
    item = await link(client, milestone_id=milestone["id"])
    assert (await upload(client, item["id"], PDF)).status_code == 201
    await work(db, settings)
    events = receiver.verified(sub["secret"])  # sent concurrently: in any order
    assert sorted((e["type"], e["id"]) for e in events) == [
        ("evidence.created", item["id"]),
        ("evidence.updated", item["id"]),
        ("milestone.created", milestone["id"]),
        ("milestone.updated", milestone["id"]),
        ("progress_update.created", progress["id"]),
    ]
    assert {e["plan_id"] for e in events} == {w.plan["id"]}


async def test_a_subscription_hears_only_of_changes_committed_after_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    early = await subscribe(client, receiver.url, partnership_id=p["id"])
    before = await post(client, "organisations", {"partnership_id": p["id"], "name": "Before", "kind": "other"})
    late = await subscribe(client, receiver.url, partnership_id=p["id"])  # the early one has not been fanned out yet
    after = await post(client, "organisations", {"partnership_id": p["id"], "name": "After", "kind": "other"})
    assert await work(db, settings) == 3
    made = await deliveries(db)
    by_subscription: dict[str, list[str]] = {}
    for d in made:
        by_subscription.setdefault(str(d.subscription_id), []).append(d.payload["id"])
    assert sorted(by_subscription[early["id"]]) == sorted([before["id"], after["id"]])
    assert by_subscription == {early["id"]: by_subscription[early["id"]], late["id"]: [after["id"]]}
    assert len({d.event_id for d in made}) == 2  # the two subscribers of the later change share its event id


async def test_fan_out_is_a_few_statements_and_never_doubles_a_delivery(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, statements: StatementCounter
) -> None:
    p = await make_partnership(client)
    watching = [await subscribe(client, receiver.url, partnership_id=p["id"]) for _ in range(2)]
    await subscribe(client, receiver.url, partnership_id=p["id"], event_types=["person.left"])  # matches none of them
    other = await make_partnership(client)
    for i in range(30):
        await post(client, "organisations", {"partnership_id": p["id"], "name": f"Org {i}", "kind": "other"})
    await post(client, "organisations", {"partnership_id": other["id"], "name": "Elsewhere", "kind": "other"})
    async with db.read_session() as session:
        start = (await session.execute(select(func.min(col(WebhookSubscription.change_cursor))))).scalar_one()
    statements.reset()
    assert await fan_out(db) == 35  # from the first subscription's cursor: two subscriptions, a partnership, 31 organisations
    assert statements.count == 4  # subscriptions, changes, one insert, one update of the cursors
    assert await fan_out(db) == 0
    made = await deliveries(db)
    assert len(made) == 60 and {str(d.subscription_id) for d in made} == {s["id"] for s in watching}
    assert {d.payload["plan_id"] for d in made} == {None} and {d.status for d in made} == {"pending"}
    async with unit_of_work(db) as session:  # the cursors moved back: the same changes fanned out again
        await session.execute(update(WebhookSubscription).values(change_cursor=start))
    assert await fan_out(db) > 0
    assert sorted(d.id for d in await deliveries(db)) == sorted(d.id for d in made)
    async with db.read_session() as session:
        cursors = set((await session.execute(select(col(WebhookSubscription.change_cursor)))).scalars())
        assert cursors == {(await session.execute(select(func.max(col(Change.seq))))).scalar_one()}


async def test_rows_logged_before_event_types_were_stored_get_one_and_unpublished_ones_none(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    sub = await subscribe(client, receiver.url)  # every partnership
    entity = uuid.uuid4()
    async with unit_of_work(db) as session:
        last = (await session.execute(select(func.coalesce(func.max(col(Change.seq)), 0)))).scalar_one()
        now = datetime.now(UTC)
        session.add_all(
            [
                Change(seq=last + 1, occurred_at=now, entity_type="action", entity_id=entity, action="update", version=2),
                Change(seq=last + 2, occurred_at=now, entity_type="webhook_subscription", entity_id=uuid.UUID(sub["id"]), action="update"),
                Change(seq=last + 3, occurred_at=now, entity_type="plan", entity_id=entity, action="delete", version=3),
            ]
        )
    await work(db, settings)
    events = sorted(receiver.verified(sub["secret"]), key=lambda e: str(e["type"]))  # sent concurrently: in any order
    assert [(e["type"], e["id"], e["plan_id"]) for e in events] == [
        ("action.updated", str(entity), None),
        ("plan.deleted", str(entity), None),
    ]
    assert events[0]["occurred_at"] == now.isoformat()


@pytest.mark.postgres_only
async def test_two_concurrent_fan_outs_create_each_delivery_once(
    client: httpx.AsyncClient, database_url: str, db: Database, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    subscriptions = [await subscribe(client, receiver.url, partnership_id=p["id"]) for _ in range(3)]
    for i in range(40):
        await post(client, "organisations", {"partnership_id": p["id"], "name": f"Org {i}", "kind": "other"})
    workers = [Database(database_url), Database(database_url)]

    async def drain(worker: Database) -> int:
        moved = 0
        while n := await fan_out(worker, batch=7):
            moved += n
        return moved

    try:
        for _ in range(2):  # the second round has nothing left to do
            await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for w in workers:
            await w.dispose()
    made = await deliveries(db)
    assert len(made) == 3 * 40
    assert len({(d.subscription_id, d.event_id) for d in made}) == 3 * 40
    assert {str(d.subscription_id) for d in made} == {s["id"] for s in subscriptions}
    assert len({d.event_id for d in made}) == 40  # one event id per change, shared by its subscribers


async def test_a_slow_receiver_holds_no_transaction(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "Slowly", "kind": "other"})
    while await fan_out(db):
        pass
    [delivery] = await deliveries(db)
    receiver.delay = 3.0
    sending = asyncio.create_task(deliver_due(db, settings))
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert receiver.received, "the worker never sent"
    started = time.monotonic()
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            idle = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )
            assert idle.scalar_one() == 0
    async with unit_of_work(db) as session:  # the delivery being sent is not locked either
        if not db.is_sqlite:
            await session.execute(text("SET LOCAL lock_timeout = '1s'"))
        touched = await session.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id).values(updated_at=col(WebhookDelivery.updated_at))
        )
        assert touched.rowcount == 1  # type: ignore[attr-defined]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "Meanwhile", "kind": "other"})
    assert time.monotonic() - started < 1.5 and not sending.done()
    assert await sending == 1
    [sent] = [d for d in await deliveries(db) if d.id == delivery.id]
    assert (sent.status, sent.attempts, sent.last_status_code) == ("succeeded", 1, 204)


async def test_a_claim_whose_worker_died_is_sent_again_after_the_lease(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    while await fan_out(db):
        pass
    [claim] = await claim_due(db, settings, batch=10)  # the worker dies here: nothing is sent or recorded
    [leased] = await deliveries(db)
    assert leased.status == "pending" and leased.next_attempt_at > datetime.now(UTC) + lease(settings) - timedelta(seconds=5)
    assert await deliver_due(db, settings) == 0  # still leased to the dead worker
    async with unit_of_work(db) as session:  # the lease runs out
        await session.execute(update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert await deliver_due(db, settings) == 1
    assert [h["webhook-id"] for h, _ in receiver.received] == [str(claim.event_id)]
    await record(db, settings, claim, Outcome(None, "late news from the dead worker"))  # its claim was taken over: ignored
    [done] = await deliveries(db)
    assert (done.status, done.attempts, done.last_error) == ("succeeded", 1, None)


@pytest.mark.slow
async def test_a_worker_killed_while_sending_is_replaced_after_the_lease(
    client: httpx.AsyncClient, database_url: str, db: Database, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "ICB", "kind": "icb"})
    receiver.delay = 3.0  # the receiver is still answering when the worker dies
    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_WEBHOOK_ALLOW_PRIVATE": "true", "WSOA_WEBHOOK_TIMEOUT_SECONDS": "2",
           "WSOA_LOG_LEVEL": "WARNING"}  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert receiver.received, "the worker never tried to deliver"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    receiver.delay = 0.0

    async def worker_once() -> None:
        again = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "worker", "--once", env=env, stderr=subprocess.PIPE)
        _, err = await again.communicate()
        assert again.returncode == 0, err.decode()[-500:]

    [leased] = await deliveries(db)
    await worker_once()
    if len(receiver.received) == 1:  # still leased to the dead worker: not sent yet
        await asyncio.sleep((leased.next_attempt_at - datetime.now(UTC)).total_seconds() + 0.5)
        await worker_once()
    else:  # a loaded machine took longer than the lease to start the worker: it may send again, but not before
        assert datetime.now(UTC) >= leased.next_attempt_at
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1]  # at least once: the same event again, with the same id
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("succeeded", 1)]


async def test_the_worker_moving_a_cursor_does_not_change_the_subscriptions_etag(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    url = f"/api/v1/webhook-subscriptions/{sub['id']}"
    before = await client.get(url)
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    assert await work(db, settings) == 1
    after = await client.get(url)
    assert "change_cursor" not in after.json()
    assert after.headers["etag"] == before.headers["etag"]


async def test_a_paused_subscription_is_not_sent_what_happened_while_it_was_off(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, receiver.url, partnership_id=p["id"])
    url = f"/api/v1/webhook-subscriptions/{sub['id']}"

    async def set_active(active: bool) -> None:
        changed = await client.patch(url, json={"active": active}, headers={"If-Match": (await client.get(url)).headers["etag"]})
        assert changed.status_code == 200, changed.text

    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    await set_active(False)
    await post(client, "organisations", {"partnership_id": p["id"], "name": "B", "kind": "other"})
    assert await work(db, settings) == 0  # off when the worker came to A and B: neither is sent
    await set_active(True)
    assert await work(db, settings) == 0  # nor replayed once it is back on
    c = await post(client, "organisations", {"partnership_id": p["id"], "name": "C", "kind": "other"})
    assert await work(db, settings) == 1
    assert [json.loads(body)["id"] for _, body in receiver.received] == [c["id"]]
