"""The anchored chain: signed checkpoints outside the database catch what the hash chain alone cannot
(a truncated table, the newest events deleted, a tail rewritten with fresh hashes), and on PostgreSQL the
service can run as a role that may only read and append the audit trail."""

import base64
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from app.audit import checkpoints
from app.audit.service import COLUMNS, verify
from app.core.audit import GENESIS, content_hash, link_hash
from app.core.config import Settings
from app.core.db import Database
from app.evidence.storage import LocalStorage, S3Storage
from app.main import create_app
from app.models import AuditEvent
from tests.factories import make_concern, make_partnership, make_person, make_plan, make_world
from tests.test_audit import behind_the_services_back

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass
class Anchored:
    """A test's own checkpoint store and signing key, and the `wsoa` command configured with both."""

    database_url: str
    store: Path
    key: Ed25519PrivateKey

    @property
    def seed(self) -> str:
        return base64.b64encode(self.key.private_bytes_raw()).decode()

    @property
    def storage(self) -> LocalStorage:
        return LocalStorage(self.store)

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(update={"storage_dir": str(self.store), "audit_signing_key": SecretStr(self.seed)})

    def wsoa(self, *args: str, key: bool = True) -> subprocess.CompletedProcess[str]:
        """The real command line, in a process of its own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WSOA_AUDIT_")}
        env.update(WSOA_DATABASE_URL=self.database_url, WSOA_STORAGE_DIR=str(self.store), WSOA_LOG_LEVEL="WARNING")
        if key:
            env["WSOA_AUDIT_SIGNING_KEY"] = self.seed
        return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    async def checkpoint(self, db: Database) -> checkpoints.Checkpoint:
        taken = await checkpoints.take(db, self.storage, self.key)
        assert taken is not None
        return taken

    def stored(self) -> list[Path]:
        return sorted((self.store / checkpoints.FOLDER).glob("*.json"))


@pytest.fixture
def anchored(database_url: str, tmp_path: Path) -> Anchored:
    return Anchored(database_url, tmp_path / "store", Ed25519PrivateKey.generate())


def assert_broken_at(result: subprocess.CompletedProcess[str], seq: int) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"audit chain broken at seq {seq}:" in result.stderr, result.stderr


async def head(db: Database) -> int:
    found = await checkpoints.head(db)
    assert found is not None
    return found[0]


async def rechain_from(db: Database, seq: int) -> None:
    """What someone with the owner's rights could do: edit event `seq` and recompute every later hash, so the
    chain on its own verifies again."""
    async with db.engine.connect() as conn:
        stmt = select(*COLUMNS).where(col(AuditEvent.seq) >= seq - 1).order_by(col(AuditEvent.seq))
        rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    previous = rows.pop(0)["hash"] if seq > 1 else GENESIS
    statements = []
    for event in rows:
        if event["seq"] == seq:
            event["actor_id"] = "forger"
        digest = link_hash(previous, event["seq"], event["occurred_at"], content_hash(event))
        statements.append(
            f"UPDATE audit_event SET actor_id = '{event['actor_id']}', prev_hash = '{previous}', hash = '{digest}' WHERE seq = {event['seq']}"
        )
        previous = digest
    await behind_the_services_back(db, *statements)


async def grow(client: httpx.AsyncClient, partnership: dict[str, Any], plan: dict[str, Any]) -> None:
    """A few more writes."""
    await make_person(client, partnership)
    await make_concern(client, plan)
    await make_person(client, partnership)


# Checkpoints and the command line ------------------------------------------------------------------


async def test_a_checkpoint_is_signed_outside_the_database_and_verified(
    client: httpx.AsyncClient, db: Database, anchored: Anchored
) -> None:
    await make_world(client)
    last = await head(db)
    assert anchored.wsoa("audit", "checkpoint", key=False).returncode == 2
    made = anchored.wsoa("audit", "checkpoint")
    assert made.returncode == 0, made.stderr
    digest = (await checkpoints.head(db) or (0, ""))[1]
    assert made.stdout.strip() == f"checkpoint at seq {last} (hash {digest})"
    [stored] = anchored.stored()
    assert stored.name.startswith(f"{last:020d}-")
    found, refused = await checkpoints.load(anchored.storage, anchored.key.public_key())
    assert refused == [] and [(c.seq, c.hash) for c in found] == [(last, digest)]
    verified = anchored.wsoa("audit", "verify")
    assert verified.returncode == 0 and "matching 1 signed checkpoint" in verified.stdout, verified.stderr
    unchecked = anchored.wsoa("audit", "verify", key=False)
    assert unchecked.returncode == 0 and "checkpoints not checked" in unchecked.stdout
    public = anchored.wsoa("audit", "public-key").stdout.strip()
    by_public_key = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"],
        env={**os.environ, "WSOA_DATABASE_URL": anchored.database_url, "WSOA_STORAGE_DIR": str(anchored.store), "WSOA_AUDIT_PUBLIC_KEY": public},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert by_public_key.returncode == 0 and "matching 1 signed checkpoint" in by_public_key.stdout, by_public_key.stderr


async def test_a_chain_that_does_not_verify_is_never_signed(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    await make_world(client)
    await behind_the_services_back(db, "UPDATE audit_event SET actor_id = 'someone-else' WHERE seq = 2")
    refused = anchored.wsoa("audit", "checkpoint")
    assert refused.returncode == 1 and "seq 2" in refused.stderr and "no checkpoint written" in refused.stderr
    assert anchored.stored() == []


async def test_the_worker_signs_a_checkpoint_only_when_the_chain_has_grown(
    client: httpx.AsyncClient, db: Database, anchored: Anchored
) -> None:
    partnership = await make_partnership(client)
    assert anchored.wsoa("worker", "--once", key=False).returncode == 0
    assert anchored.stored() == []
    assert anchored.wsoa("worker", "--once").returncode == 0
    assert len(anchored.stored()) == 1
    assert anchored.wsoa("worker", "--once").returncode == 0
    assert len(anchored.stored()) == 1
    await make_person(client, partnership)
    assert anchored.wsoa("worker", "--once").returncode == 0
    assert [p.name[:20] for p in anchored.stored()] == [f"{await head(db) - 1:020d}", f"{await head(db):020d}"]


# Tampering the chain alone cannot see ---------------------------------------------------------------


async def test_an_emptied_audit_table_is_found(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    await make_world(client)
    await anchored.checkpoint(db)
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            await conn.execute(text("DELETE FROM audit_event"))
        else:  # the owner can switch the TRUNCATE trigger off for its session
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text("TRUNCATE audit_event"))
    assert await verify(db) == (0, None)  # the chain alone: nothing wrong with an empty chain
    assert_broken_at(anchored.wsoa("audit", "verify"), 1)


async def test_deleted_newest_events_are_found(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    await make_world(client)
    last = (await anchored.checkpoint(db)).seq
    await behind_the_services_back(db, f"DELETE FROM audit_event WHERE seq > {last - 3}")
    assert (await verify(db))[1] is None
    result = anchored.wsoa("audit", "verify")
    assert_broken_at(result, last - 2)
    assert f"event {last - 2} is missing" in result.stderr


async def test_an_edited_event_is_found_at_its_seq(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    await make_world(client)
    await anchored.checkpoint(db)
    await behind_the_services_back(db, "UPDATE audit_event SET actor_id = 'someone-else' WHERE seq = 3")
    assert_broken_at(anchored.wsoa("audit", "verify"), 3)


async def test_a_tail_rechained_from_an_edited_event_is_found(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    world = await make_world(client)
    early = (await anchored.checkpoint(db)).seq
    await grow(client, world.partnership, world.plan)
    last = (await anchored.checkpoint(db)).seq
    await rechain_from(db, early + 2)
    assert await verify(db) == (last, None)  # every hash recomputed: the chain alone cannot tell
    result = anchored.wsoa("audit", "verify")
    assert_broken_at(result, last)  # the first seq whose stored hash contradicts a signature
    assert f"an event from seq {early + 1} to here was edited" in result.stderr


async def test_a_checkpoint_signed_with_another_key_is_refused(client: httpx.AsyncClient, db: Database, anchored: Anchored) -> None:
    await make_world(client)
    honest = await anchored.checkpoint(db)
    await rechain_from(db, 2)
    forged_head = await checkpoints.head(db)
    assert forged_head is not None
    forger, forged_at = Ed25519PrivateKey.generate(), honest.taken_at + timedelta(seconds=1)
    name = checkpoints.name_of(forged_head[0], forged_at)
    await anchored.storage.write_object(name, checkpoints.encode(forger, *forged_head, forged_at))
    result = anchored.wsoa("audit", "verify")
    assert result.returncode == 1
    assert f"checkpoint {name} refused: it is signed by another key than the configured one" in result.stderr
    assert f"audit chain broken at seq {honest.seq}" in result.stderr  # the honest checkpoint still counts
    assert await checkpoints.latest(anchored.storage, anchored.key.public_key()) == honest

    # Nor does the forger's signature pass under the configured public key.
    document = json.loads(checkpoints.encode(forger, *forged_head, forged_at))
    document["public_key"] = base64.b64encode(checkpoints.raw_public(anchored.key.public_key())).decode()
    decoded = checkpoints.decode(name, json.dumps(document).encode(), anchored.key.public_key())
    assert isinstance(decoded, checkpoints.Refused) and "signature does not verify" in decoded.reason
    # Nor a genuine checkpoint whose hash was changed.
    genuine = json.loads(Path(anchored.store / honest.name).read_bytes())
    genuine["hash"] = forged_head[1]
    decoded = checkpoints.decode(honest.name, json.dumps(genuine).encode(), anchored.key.public_key())
    assert isinstance(decoded, checkpoints.Refused) and "signature does not verify" in decoded.reason


@pytest.mark.postgres_only
async def test_postgres_refuses_truncate(client: httpx.AsyncClient, db: Database) -> None:
    await make_partnership(client)
    with pytest.raises(DBAPIError, match="TRUNCATE refused"):
        async with db.engine.begin() as conn:
            await conn.execute(text("TRUNCATE audit_event"))


async def test_checkpoints_round_trip_through_an_s3_bucket(
    client: httpx.AsyncClient, db: Database, anchored: Anchored, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-2"}.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-2").create_bucket(
            Bucket="anchors", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
        bucket = S3Storage(bucket="anchors", prefix="evidence/", endpoint_url=endpoint, region="eu-west-2", scratch_root=tmp_path)
        await make_partnership(client)
        first = await checkpoints.take(db, bucket, anchored.key)
        await make_partnership(client)
        second = await checkpoints.take(db, bucket, anchored.key, only_if_grown=True)
        assert await checkpoints.take(db, bucket, anchored.key, only_if_grown=True) is None
        assert first is not None and second is not None and second.seq > first.seq
        assert await bucket.list_objects(checkpoints.FOLDER) == [first.name, second.name]
        assert await checkpoints.load(bucket, anchored.key.public_key()) == ([first, second], [])
        assert await checkpoints.latest(bucket, anchored.key.public_key()) == second
        assert await verify(db, [first, second]) == (second.seq, None)
    finally:
        server.stop()


# Exports --------------------------------------------------------------------------------------------


@pytest.fixture
async def anchored_client(settings: Settings, db: Database, admin_token: str, anchored: Anchored) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(anchored.settings(settings), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as c:
        yield c


async def test_an_export_records_the_checkpoint_it_was_made_after(
    anchored_client: httpx.AsyncClient, db: Database, anchored: Anchored
) -> None:
    world = await make_world(anchored_client)

    async def export() -> dict[str, Any]:
        made = await anchored_client.post(f"/api/v1/plans/{world.plan['id']}/exports", json={"format": "json", "audience": "board"})
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body

    before = await export()
    assert before["checkpoint_seq"] is None and before["checkpoint_hash"] is None
    anchor = await anchored.checkpoint(db)
    after = await export()
    assert (after["checkpoint_seq"], after["checkpoint_hash"]) == (anchor.seq, anchor.hash)
    read = (await anchored_client.get(f"/api/v1/exports/{after['id']}")).json()
    assert (read["checkpoint_seq"], read["checkpoint_hash"]) == (anchor.seq, anchor.hash)


# The service as a role that may only read and append the audit trail ------------------------------------


def documented_grants(role: str, database: str) -> list[str]:
    """The statements README.md gives, for this test's role and database."""
    section = README.read_text(encoding="utf-8").split("**A database role that cannot rewrite the trail.**", 1)[1]
    sql = section.split("```sql", 1)[1].split("```", 1)[0]
    sql = re.sub(r"\bwsoa_app\b", role, sql).replace("DATABASE wsoa ", f'DATABASE "{database}" ')
    return [s.strip() for s in sql.split(";") if s.strip()]


@pytest.fixture
async def appender(db: Database, database_url: str) -> AsyncIterator[Database]:
    """A connection pool logged in as a role made with README.md's grants (dropped afterwards)."""
    role = f"wsoa_app_{uuid.uuid4().hex[:8]}"
    async with db.engine.begin() as conn:
        for statement in documented_grants(role, make_url(database_url).database or ""):
            await conn.execute(text(statement))
    database = Database(make_url(database_url).set(username=role, password=None).render_as_string(hide_password=False))
    try:
        yield database
    finally:
        await database.dispose()
        async with db.engine.begin() as conn:
            await conn.execute(text(f"DROP OWNED BY {role}"))
            await conn.execute(text(f"DROP ROLE {role}"))


@pytest.mark.postgres_only
async def test_the_service_runs_as_a_role_that_may_only_append_the_audit_trail(
    settings: Settings, db: Database, admin_token: str, appender: Database
) -> None:
    app = create_app(settings, database=appender)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as client:
        partnership = await make_partnership(client)
        await make_person(client, partnership)
        await make_plan(client, partnership)
        trail = (await client.get("/api/v1/audit-events")).json()["items"]
    assert [e["entity_type"] for e in trail][-3:] == ["partnership", "person", "plan"]
    assert await verify(db) == (len(trail), None)
    for statement in ("DELETE FROM audit_event", "TRUNCATE audit_event", "UPDATE audit_event SET actor_id = 'x'", "DELETE FROM change"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with appender.engine.begin() as conn:
                await conn.execute(text(statement))
