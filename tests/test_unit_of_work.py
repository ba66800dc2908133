"""The unit of work: one transaction per write, its Idempotency-Key answer stored with it, its log appended last.

- Statement count: a progress update (with an Idempotency-Key, the worst case) is at most 6 statements in
  one transaction, read from the engine's own statement log.
- Crash at a chosen moment: `WSOA_CRASH_AT` makes a served process kill itself just before or just after
  COMMIT; the retry with the same key runs the write once, or replays the stored answer.
- Concurrency: 32 writers on 8 partnerships while a poller follows `/changes`: every change is seen once, in
  commit order, and the audit chain verifies.
"""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlmodel import col

from app.audit.service import verify
from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.main import create_app
from app.models import AuditEvent, Change, IdempotencyRecord, ProgressUpdate
from app.models.enums import Role
from tests.conftest import StatementCounter, new_token
from tests.factories import make_world
from tests.servers import Server, served


class Transactions:
    """BEGINs and COMMITs on the engine since `reset()` (SQLite's BEGIN IMMEDIATE is issued in its `begin` event)."""

    def __init__(self) -> None:
        self.begins = self.commits = 0

    def begin(self, _conn: Any) -> None:
        self.begins += 1

    def commit(self, _conn: Any) -> None:
        self.commits += 1


@pytest.fixture
def transactions(db: Database) -> Iterator[Transactions]:
    found = Transactions()
    engine = db.engine.sync_engine
    event.listen(engine, "begin", found.begin)
    event.listen(engine, "commit", found.commit)
    yield found
    event.remove(engine, "begin", found.begin)
    event.remove(engine, "commit", found.commit)


async def test_a_progress_update_is_one_key_lookup_and_at_most_six_statements_in_one_transaction(
    client: httpx.AsyncClient, db: Database, settings: Settings, statements: StatementCounter, transactions: Transactions
) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.lead, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    # As served: a verified key is trusted for a few seconds by reads.
    app = create_app(settings.model_copy(update={"auth_cache_seconds": 60.0}), database=db)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as lead:
        url = f"/api/v1/actions/{w.action['id']}/progress-updates"
        warm = await lead.post(url, json={"rag": "green", "narrative": "Warming the statement cache."}, headers={"Idempotency-Key": "w-0"})
        assert warm.status_code == 201, warm.text
        statements.reset()
        transactions.begins = transactions.commits = 0
        body = {"rag": "amber", "narrative": "Two of three coordinators in post.", "percent_complete": 40}
        created = await lead.post(url, json=body, headers={"Idempotency-Key": "w-1"})
        assert created.status_code == 201, created.text
        written = statements.count
        # A write looks its key up (it never trusts the cache of verified keys; on SQLite that read is a short
        # transaction of its own, on PostgreSQL it goes through the read pool), then writes in one transaction.
        assert transactions.commits == 1 and transactions.begins == (2 if db.dialect == "sqlite" else 1)
        lookup = 1 if db.dialect == "sqlite" else 0  # counted here only where it runs on the engine
        print(f"a keyed progress update: {written} statements, {lookup} of them the key's lookup")
        assert written - lookup <= 6, f"{written} statements"
        # No read-back: the answer is built from the row written, and it is what a read returns.
        read = await lead.get(created.headers["location"].removeprefix("http://test"))
        assert read.json() == created.json() and read.headers["etag"] == created.headers["etag"]
    async with unit_of_work(db) as session:
        logged = (await session.execute(select(col(Change.plan_id)).where(col(Change.entity_id) == uuid.UUID(created.json()["id"])))).one()
    assert str(logged.plan_id) == w.plan["id"]  # the change-feed row names its plan


async def test_a_refused_write_leaves_nothing_behind(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)

    async def counts() -> tuple[int, int, int]:
        async with unit_of_work(db) as session:
            return (
                int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()),
                int((await session.execute(select(func.count()).select_from(Change))).scalar_one()),
                int((await session.execute(select(func.count()).select_from(ProgressUpdate))).scalar_one()),
            )

    before = await counts()
    stranger = str(uuid.uuid4())  # an author that does not exist: refused after the action was found
    refused = await client.post(
        f"/api/v1/actions/{w.action['id']}/progress-updates", json={"rag": "red", "narrative": "x", "author_id": stranger}
    )
    assert refused.status_code == 422, refused.text
    assert await counts() == before


# Crashes at a chosen moment ----------------------------------------------------------------------


async def _post(server: Server, token: str, path: str, body: dict[str, Any], key: str) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=30) as c:
            return await c.post(server.url + path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
    except httpx.HTTPError:
        return None  # the process died before it answered


async def _stored(db: Database, action_id: str, key: str) -> tuple[int, int]:
    async with unit_of_work(db) as session:
        updates = (
            await session.execute(
                select(func.count()).select_from(ProgressUpdate).where(col(ProgressUpdate.action_id) == uuid.UUID(action_id))
            )
        ).scalar_one()
        answers = (
            await session.execute(select(func.count()).select_from(IdempotencyRecord).where(col(IdempotencyRecord.key) == key))
        ).scalar_one()
    return int(updates), int(answers)


@pytest.mark.parametrize("moment", ["before_commit", "after_commit"])
async def test_a_crash_at_commit_leaves_the_write_once_with_or_without_its_answer(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path, moment: str
) -> None:
    w = await make_world(client)
    token = await new_token(db, Role.admin)
    path = f"/api/v1/actions/{w.action['id']}/progress-updates"
    body = {"rag": "amber", "narrative": "Sent once, whatever happens.", "author_id": w.owner["id"]}
    with served(database_url, settings, tmp_path, crash_at=moment) as doomed:
        assert await _post(doomed, token, path, body, "crash-1") is None
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{doomed.url}/healthz", timeout=2)  # it killed itself at the moment named
    # Before COMMIT nothing survives; after it, the update and its answer survive together.
    assert await _stored(db, w.action["id"], "crash-1") == ((0, 0) if moment == "before_commit" else (1, 1))
    with served(database_url, settings, tmp_path) as server:
        retry = await _post(server, token, path, body, "crash-1")
        again = await _post(server, token, path, body, "crash-1")
    assert retry is not None and again is not None
    assert retry.status_code == again.status_code == 201, retry.text
    assert (retry.headers.get("idempotent-replayed") == "true") is (moment == "after_commit")
    assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()
    assert await _stored(db, w.action["id"], "crash-1") == (1, 1)
    assert await verify(db) == (await _audit_count(db), None)


async def _audit_count(db: Database) -> int:
    async with unit_of_work(db) as session:
        return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


# Concurrency ---------------------------------------------------------------------------------------


async def test_thirty_two_writers_on_eight_partnerships_and_a_poller_that_sees_each_change_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    worlds = [await make_world(client) for _ in range(8)]
    writing = True
    seen: list[int] = []

    async def poll() -> None:
        cursor = "0"
        while True:
            done = not writing  # one more pass after the writers stop
            page = (await client.get("/api/v1/changes", params={"after": cursor, "limit": 1000})).json()
            seen.extend(item["seq"] for item in page["items"])
            cursor = page["next_cursor"]
            if done and not page["items"]:
                return
            await asyncio.sleep(0)

    async def write(n: int) -> None:
        w = worlds[n % 8]
        for k in range(3):
            r = await client.post(
                f"/api/v1/actions/{w.action['id']}/progress-updates",
                json={"rag": "green", "narrative": f"writer {n} update {k}", "author_id": w.owner["id"]},
            )
            assert r.status_code == 201, r.text

    poller = asyncio.create_task(poll())
    await asyncio.gather(*(write(n) for n in range(32)))
    writing = False
    await poller
    async with unit_of_work(db) as session:
        feed = [row.seq for row in await session.execute(select(col(Change.seq)).order_by(col(Change.seq)))]
    assert feed == list(range(1, len(feed) + 1))  # gapless
    assert seen == feed  # every change once, in commit order, although the poller read while writers committed
    trail = []
    cursor = None
    while True:
        page = (await client.get("/api/v1/audit-events", params={"limit": 200, **({"cursor": cursor} if cursor else {})})).json()
        trail.extend(e["seq"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert trail == list(range(1, len(trail) + 1)) and len(trail) >= 96
    assert await verify(db) == (len(trail), None)


def test_nothing_but_the_unit_of_work_commits() -> None:
    """The rule of `app.core.uow`, kept: only it (and the bookkeeping transaction in `app.core.db`) calls commit()."""
    root = Path(__file__).resolve().parents[1] / "app"
    offenders = [
        str(p.relative_to(root.parent))
        for p in root.rglob("*.py")
        if ".commit()" in p.read_text() and p.relative_to(root).as_posix() not in {"core/uow.py", "core/db.py"}
    ]
    assert offenders == []


async def test_a_negative_zero_in_a_change_keeps_the_chain_verifiable(db: Database) -> None:
    """PostgreSQL's jsonb has no -0.0: the content hash is taken over what the database will keep."""
    from app.core import audit
    from app.core.auth import SYSTEM

    async with unit_of_work(db) as session:
        audit.record(session, actor=SYSTEM, action="update", entity_type="observation", entity_id=uuid.uuid4(), partnership_id=None,
                     changes={"value": [1.5, -0.0]})  # fmt: skip
    assert await verify(db) == (1, None)
