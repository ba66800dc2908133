"""EHCP case events at scale: ingest in batches of 10,000 through the HTTP API, then the timeliness report.

    python -m bench.cases [--cases 40000]

Builds about five events per case (≈ 200,000 for 40,000 cases) over three years in a fresh
`wsoa_bench_cases` PostgreSQL database, posts them to `POST /case-events` in batches of 10,000 (the app
in-process over ASGI, so the figures are the service's own work), then times a three-year monthly
`GET /partnerships/{id}/ehcp-timeliness`, which the database computes. Prints seconds per step.
"""

import argparse
import asyncio
import random
import time
from datetime import date, timedelta
from typing import Any

import httpx

from app.apikeys.service import create_key
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.models import Partnership
from app.models.enums import Role
from bench.run import fresh_database

BATCH = 10_000
START = date(2023, 1, 1)


def events(cases: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    for n in range(cases):
        ref, received = f"C{n:07d}", START + timedelta(days=rng.randint(0, 3 * 365 - 200))

        def add(kind: str, on: date, ref: str = ref, **extra: Any) -> None:
            out.append({"event_id": f"{ref}-{kind}", "case_ref": ref, "type": kind, "occurred_on": on.isoformat(), **extra})

        add("request_received", received)
        add("request_decision", received + timedelta(days=rng.randint(28, 42)), outcome="assess")
        if rng.random() < 0.08:
            add("exception", received + timedelta(days=50), reason=rng.choice("abcd"))
        days = rng.randint(90, 260)
        add("draft_issued", received + timedelta(days=days - 21))
        add("final_issued", received + timedelta(days=days))
    rng.shuffle(out)
    return out


async def main(cases: int) -> None:
    url = await fresh_database("wsoa_bench_cases")
    db = Database(url)
    async with db.sessions() as session:
        partnership = Partnership(name="Bench area", la_code="999")
        session.add(partnership)
        await session.commit()
        _, token = await create_key(session, role=Role.case_integration, name="bench", partnership_id=partnership.id)
    app = create_app(Settings(database_url=url, log_level="WARNING", case_ref_key="bench-key"), database=db)
    feed = events(cases)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {token}"}, timeout=600
    ) as c:
        started = time.perf_counter()
        for i in range(0, len(feed), BATCH):
            response = await c.post("/api/v1/case-events", json={"events": feed[i : i + BATCH]})
            assert response.status_code == 200, response.text
        ingest = time.perf_counter() - started
        started = time.perf_counter()
        again = await c.post("/api/v1/case-events", json={"events": feed[:BATCH]})
        resend = time.perf_counter() - started
        assert again.json() == {"accepted": 0, "duplicates": BATCH}
        started = time.perf_counter()
        report = await c.get(
            f"/api/v1/partnerships/{partnership.id}/ehcp-timeliness",
            params={"from": "2023-01-01", "to": "2025-12-31", "granularity": "month"},
        )
        took = time.perf_counter() - started
        assert report.status_code == 200, report.text
    await db.dispose()
    issued = sum(p["plans_issued"] for p in report.json()["periods"])
    print(f"cases: {cases:,}; events: {len(feed):,} in batches of {BATCH:,}")
    print(f"ingest all batches: {ingest:.2f} s ({len(feed) / ingest:,.0f} events/s)")
    print(f"re-send one batch of {BATCH:,} (all duplicates): {resend:.2f} s")
    print(f"three-year monthly report (36 periods, {issued:,} plans issued): {took:.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=40_000)
    asyncio.run(main(parser.parse_args().cases))
