"""The `wsoa` command and the operational endpoints."""

import os
import re
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import seed_demo
from app.models import Action, Concern, Milestone, Person, ProgressUpdate


def wsoa(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_keys_create_prints_a_working_token_and_revoke_disables_it(database_url: str, anon: httpx.AsyncClient, db: Database) -> None:
    created = wsoa(database_url, "keys", "create", "--role", "admin", "--name", "ops")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("wsoa_") and "\n" not in token
    assert (await anon.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    prefix = token.split("_")[1]
    revoked = wsoa(database_url, "keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert (await anon.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert wsoa(database_url, "keys", "revoke", "nosuchkey").returncode == 1


async def test_only_a_hash_of_the_token_is_stored(database_url: str, db: Database) -> None:
    from app.models import ApiKey

    token = wsoa(database_url, "keys", "create", "--role", "admin", "--name", "hash").stdout.strip()
    async with unit_of_work(db) as session:
        stored = (await session.execute(select(ApiKey.token_hash, ApiKey.prefix))).all()
    assert all(token.split("_", 2)[2] not in h for h, _ in stored)
    assert len(stored) == 1 and len(stored[0][0]) == 64


async def test_demo_data_is_realistic_and_idempotent(db: Database, client: httpx.AsyncClient) -> None:
    async with unit_of_work(db) as session:
        first = await seed_demo(session)
    async with unit_of_work(db) as session:
        again = await seed_demo(session)
    assert first.id == again.id

    async def count(model: Any) -> int:
        async with unit_of_work(db) as session:
            return int((await session.execute(select(func.count()).select_from(model))).scalar_one())

    assert await count(Concern) == 4
    assert 20 <= await count(Action) <= 30
    assert await count(Milestone) >= 50
    assert await count(ProgressUpdate) >= 150
    assert await count(Person) >= 15
    actions = (await client.get("/api/v1/actions", params={"limit": 200})).json()["items"]
    assert {a["rag"] for a in actions} >= {"red", "amber", "green", "blue"}
    evidence = (await client.get("/api/v1/evidence", params={"limit": 200})).json()["items"]
    completed = {a["id"] for a in actions if a["status"] == "completed"}
    assert completed <= {e["action_id"] for e in evidence if e["review_status"] == "accepted"}
    assert any(e["availability"] == "held_locally" for e in evidence)
    assert any(a["owner_active"] is False for a in actions)
    async with unit_of_work(db) as session:
        stamps = (await session.execute(select(ProgressUpdate.created_at))).scalars().all()
    months = {(s.year, s.month) for s in stamps}
    assert len(months) >= 17
    plan_id = actions[0]["plan_id"]
    alerts = (await client.get(f"/api/v1/plans/{plan_id}/alerts")).json()
    assert {"overdue", "slipping", "owner_inactive", "milestone_missed", "measure_behind"} <= set(alerts["counts"])
    measures = (await client.get("/api/v1/measures", params={"plan_id": plan_id})).json()["items"]
    assert len({m["status"] for m in measures}) >= 2
    timeliness = next(m for m in measures if m["source"] == "ehcp_timeliness")
    assert timeliness["latest_value"] is not None
    summary = (await client.get(f"/api/v1/plans/{plan_id}/summary")).json()
    assert summary["funding"]["total"]["allocated"] == "925000.00"
    history = (
        await client.get(f"/api/v1/plans/{plan_id}/history", params={"from": (date.today() - timedelta(days=540)).isoformat()})
    ).json()
    completed = [p["actions"]["by_status"]["completed"] for p in history["points"]]
    assert completed == sorted(completed) and completed[0] < completed[-1]  # the picture changed month by month
    partnership_id = actions[0]["partnership_id"]
    report = (await client.get(f"/api/v1/partnerships/{partnership_id}/ehcp-timeliness", params={"granularity": "quarter"})).json()
    assert sum(p["plans_issued"] for p in report["periods"]) > 50


async def test_healthz_readyz_metrics(anon: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    assert (await anon.get("/healthz")).json() == {"status": "ok"}
    ready = await anon.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await client.get("/api/v1/plans")
    metrics = await anon.get("/metrics")
    assert metrics.status_code == 200
    assert 'wsoa_http_requests_total{method="GET",route="/api/v1/plans",status="200"}' in metrics.text


async def test_readyz_is_503_when_the_schema_is_behind(settings: Any, tmp_path: Any) -> None:
    from app.main import create_app

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = Database(url)
    app = create_app(settings.model_copy(update={"database_url": url}), database=empty)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/readyz")
    await empty.dispose()
    assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("args", [["--help"], ["keys", "--help"]])
def test_cli_help(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Usage" in result.stdout


async def test_demo_keys_one_per_role_and_each_start_replaces_them(db: Database, anon: httpx.AsyncClient) -> None:
    from app.demo.seed import demo_keys

    async with unit_of_work(db) as session:
        partnership = await seed_demo(session)
    async with unit_of_work(db) as session:
        first = dict(await demo_keys(session, partnership.id))
    async with unit_of_work(db) as session:
        second = dict(await demo_keys(session, partnership.id))
    assert set(first) == set(second) == {"admin", "lead", "contributor", "inspector", "hr_integration", "case_integration"}
    lead = {"Authorization": f"Bearer {second['lead']}"}
    assert (await anon.get("/api/v1/plans", headers=lead)).status_code == 200
    assert (await anon.get("/api/v1/plans", headers={"Authorization": f"Bearer {first['lead']}"})).status_code == 401
    contributor = {"Authorization": f"Bearer {second['contributor']}"}
    actions = (await anon.get("/api/v1/actions", headers=contributor, params={"limit": 200})).json()["items"]
    own = next(a for a in actions if a["owner"] and a["owner"]["display_name"] == "Tom Whitcombe")
    posted = await anon.post(
        f"/api/v1/actions/{own['id']}/progress-updates", json={"rag": "green", "narrative": "Demo"}, headers=contributor
    )
    assert posted.status_code == 201


async def test_demo_keys_are_kept_between_starts_in_a_file_only_the_user_reads(
    db: Database, anon: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import cli
    from app.apikeys.service import revoke
    from app.core.auth import SYSTEM
    from app.demo.seed import demo_keys, kept_keys
    from app.models import ApiKey

    monkeypatch.chdir(tmp_path)
    async with unit_of_work(db) as session:
        partnership = await seed_demo(session)
    async with unit_of_work(db) as session:
        first = await demo_keys(session, partnership.id)
    cli._keep_keys(first)
    assert stat.S_IMODE(os.stat(cli.DEMO_KEYS_FILE).st_mode) == 0o600
    async with unit_of_work(db) as session:
        assert await kept_keys(session, cli._read_kept_keys()) == first  # the next start prints the same keys
    lead = dict(first)["lead"]
    assert (await anon.get("/api/v1/plans", headers={"Authorization": f"Bearer {lead}"})).status_code == 200
    async with unit_of_work(db) as session:
        key_id = (await session.execute(select(ApiKey.id).where(ApiKey.name == "demo-lead", ApiKey.revoked_at.is_(None)))).scalar_one()  # type: ignore[union-attr]
        await revoke(session, actor=SYSTEM, key_id=key_id)
    async with unit_of_work(db) as session:
        assert await kept_keys(session, cli._read_kept_keys()) is None  # one no longer works: a new set is made
    cli.DEMO_KEYS_FILE.write_text("not json")
    assert cli._read_kept_keys() == {}


def test_keys_create_refuses_an_invalid_scope(database_url: str) -> None:
    result = wsoa(database_url, "keys", "create", "--role", "lead", "--name", "no partnership")
    assert result.returncode == 2 and result.stdout == ""
    assert "partnership_id" in result.stderr


def test_serve_help_names_flags_plainly() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "--demo" in result.stdout and "<bool>" not in result.stdout


def test_a_command_in_the_wrong_folder_says_what_to_do_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "wsoa.db"
    result = wsoa(f"sqlite:///{missing}", "keys", "create", "--role", "admin", "--name", "somewhere")
    assert result.returncode == 2 and not missing.exists()
    assert "no database at" in result.stderr and "wsoa migrate" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty.db"
    empty.touch()  # a file without the schema
    result = wsoa(f"sqlite:///{empty}", "keys", "create", "--role", "admin", "--name", "somewhere")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "wsoa: the database has no schema yet: run `wsoa migrate` (or point WSOA_DATABASE_URL at the right database)."
    ]


@pytest.mark.parametrize("args", [["audit", "verify"], ["audit", "checkpoint"], ["worker", "--once"]])
def test_no_command_creates_a_database_where_there_is_none(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "elsewhere" / "wsoa.db"
    key = tmp_path / "key"
    key.write_bytes(bytes(32))
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "WSOA_DATABASE_URL": f"sqlite:///{missing}", "WSOA_AUDIT_SIGNING_KEY_FILE": str(key)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and not missing.exists() and "no database at" in result.stderr, result.stderr


@pytest.mark.parametrize(("name", "value"), [("WSOA_ENV", "prod"), ("WSOA_LOG_LEVEL", "TRACE"), ("WSOA_AUTH_CACHE_SECONDS", "soon")])
def test_a_wrong_setting_is_named_in_one_line(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "check-config"],
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and f"{name}:" in result.stderr, result.stderr


def test_an_export_to_a_missing_folder_records_nothing(database_url: str, tmp_path: Path) -> None:
    result = wsoa(database_url, "export", "--plan-id", "00000000-0000-4000-8000-000000000000", "--output", str(tmp_path / "no" / "x.pdf"))
    assert result.returncode == 2 and "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_date_is_one_line_not_a_traceback(database_url: str) -> None:
    result = wsoa(database_url, "keys", "create", "--role", "admin", "--name", "x", "--expires-on", "31/12/2026")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "YYYY-MM-DD" in result.stderr


def test_worker_once_says_what_it_did(database_url: str) -> None:
    result = wsoa(database_url, "worker", "--once")
    assert result.returncode == 0 and re.search(r"worker: \d+ item\(s\) handled", result.stderr), result.stderr
