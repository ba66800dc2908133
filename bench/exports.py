"""Export time against plan size: the pack (SQL and the as-of state) and each format's rendering.

    python -m bench.exports [--sizes 50,200,500]

For each size, a fresh `wsoa_bench_exports` PostgreSQL database gets the benchmark plan (owners, three
milestones and two updates per action: `bench.data`); the pack is built once, then every format is
rendered from it, each timed as the best of three runs (so imports and caches are warm). Beside them, the floor: `orjson.dumps` of the
same pack, which every format must at least pay. Prints seconds, bytes and the ratio to that floor.
"""

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select

from app.core.db import Database
from app.exports import pack as packs
from app.exports.render import render
from app.models import Plan
from app.models.enums import Audience, ExportFormat
from app.partnerships.service import local
from bench.data import seed
from bench.run import fresh_database

NAME = "wsoa_bench_exports"


def best(fn: Any, runs: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


async def one_size(actions: int) -> list[tuple[str, float, int]]:
    db = Database(await fresh_database(NAME))
    try:
        await seed(db, actions=actions, people=max(500, actions * 2))
        async with db.read_session() as session:
            plan = (await session.execute(select(Plan))).scalar_one()
            area = await local(session, plan.partnership_id)
            assert area is not None
            request = packs.Request(uuid.uuid4(), plan.id, plan.partnership_id, Audience.board, area.today, datetime.now(UTC))
            start = time.perf_counter()
            pack = await packs.build(session, request, area)
            built = time.perf_counter() - start
    finally:
        await db.dispose()
    rows = [("pack (SQL + state)", built, 0)]
    floor, blob = best(lambda: orjson.dumps(pack))
    rows.append(("floor: orjson.dumps", floor, len(blob)))
    for export_format in ExportFormat:
        seconds, out = best(lambda f=export_format: render(pack, f))
        rows.append((export_format.value, seconds, len(out)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,200,500", help="Plan sizes in actions, comma-separated.")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print(f"{'actions':>7}  {'step':<20} {'seconds':>8} {'bytes':>10} {'× floor':>8}")
    for size in sizes:
        rows = asyncio.run(one_size(size))
        floor = rows[1][1]
        for step, seconds, size_bytes in rows:
            ratio = f"{seconds / floor:8.0f}" if size_bytes and step != "floor: orjson.dumps" else ""
            print(f"{size:>7}  {step:<20} {seconds:8.3f} {size_bytes or '':>10} {ratio:>8}")


if __name__ == "__main__":
    main()
