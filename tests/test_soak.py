"""Soak: mixed traffic against a served process for a while; no errors, and its memory settles.

Reads (lists, details, summaries, alerts), progress updates with Idempotency-Keys, evidence links and
exports, from several clients at once, for `WSOA_SOAK_SECONDS` (`make soak`: 600). The resident memory
after the first fifth (the warm-up) and at the end may differ by less than 10%. Slow: CI runs it for
40 seconds, which keeps the suite inside its time budget.
"""

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import seed_demo
from app.models import Action, Plan
from tests.conftest import new_token
from tests.servers import served

pytestmark = pytest.mark.slow


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_mixed_traffic_for_a_while_without_errors_or_memory_growth(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    seconds = float(os.environ.get("WSOA_SOAK_SECONDS", "20"))
    async with unit_of_work(db) as session:
        partnership = await seed_demo(session)
        plan = (await session.execute(select(Plan).where(col(Plan.partnership_id) == partnership.id))).scalar_one()
        actions = (await session.execute(select(Action.id, Action.owner_id).where(col(Action.plan_id) == plan.id))).all()  # type: ignore[call-overload]
    token = await new_token(db)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    rng = random.Random(5)
    with served(database_url, settings, tmp_path, rate_limits="{}", case_ref_key="soak") as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:

            async def one() -> httpx.Response:
                action_id, owner_id = rng.choice(actions)
                pick = rng.random()
                if pick < 0.35:
                    return await c.get("/api/v1/actions", params={"plan_id": str(plan.id), "limit": 50})
                if pick < 0.6:
                    return await c.get(f"/api/v1/actions/{action_id}")
                if pick < 0.7:
                    return await c.get(f"/api/v1/plans/{plan.id}/summary")
                if pick < 0.78:
                    return await c.get(f"/api/v1/plans/{plan.id}/alerts")
                if pick < 0.95:
                    body = {"author_id": str(owner_id), "rag": rng.choice(["green", "amber"]), "narrative": "Soak progress."}
                    return await c.post(
                        f"/api/v1/actions/{action_id}/progress-updates", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                    )
                if pick < 0.99:
                    body = {"action_id": str(action_id), "title": "Minutes", "kind": "minutes", "url": "https://docs.example/m"}
                    return await c.post("/api/v1/evidence", json=body)
                return await c.post(f"/api/v1/plans/{plan.id}/exports", json={"format": "json", "audience": "inspectors"})

            async def client_loop(until: float) -> None:
                while time.monotonic() < until:
                    try:
                        resp = await one()
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        continue
                    statuses[resp.status_code] += 1
                    if resp.status_code >= 400:
                        failures.append(f"{resp.status_code} {resp.request.method} {resp.request.url.path}: {resp.text[:200]}")

            start = time.monotonic()
            warm_up = start + seconds / 5
            await asyncio.gather(*(client_loop(warm_up) for _ in range(8)))
            settled = resident_kib(server.pid)
            await asyncio.gather(*(client_loop(start + seconds) for _ in range(8)))
            final = resident_kib(server.pid)
    print(
        f"soak {seconds:.0f} s: {sum(statuses.values())} requests {dict(statuses)}; resident {settled} KiB after warm-up, {final} KiB at the end"
    )
    assert failures == [], failures[:5]
    assert final < settled * 1.10, f"resident memory grew from {settled} KiB to {final} KiB"
