"""HR sync at scale: the service's set-based sync beside a plain per-row ORM loop, same database, same run.

    python -m bench.sync [--rows 10000]

Each contender gets a fresh partnership in a `wsoa_bench_sync` PostgreSQL database and syncs the same
feed: a first full sync (all new), the same feed again (all unchanged), then a feed with 10% changed and
10% missing (leavers). Prints the seconds for each step.
"""

import argparse
import asyncio
import time
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import col

from app.core.auth import SYSTEM
from app.core.db import Database
from app.core.migrations import upgrade
from app.models import Partnership, Person
from app.partnerships.sync import sync_people
from bench.run import SERVER_URL


def feed(rows: int, changed: bool = False) -> list[dict[str, Any]]:
    out = []
    for n in range(rows):
        if changed and n % 10 == 9:
            continue  # a leaver
        title = "Team manager" if changed and n % 10 == 0 else "SEND officer"
        out.append(
            {
                "external_id": f"E{n:06d}",
                "display_name": f"Officer {n}",
                "email": f"o{n}@council.example",
                "job_title": title,
                "active": True,
            }
        )
    return out


async def per_row_loop(db: Database, partnership_id: Any, rows: list[dict[str, Any]], full: bool) -> None:
    """What a first version would do: look each person up, then insert or update it, one row at a time."""
    async with db.sessions() as session:
        seen = set()
        for r in rows:
            seen.add(r["external_id"])
            person = (
                await session.execute(
                    select(Person).where(col(Person.partnership_id) == partnership_id, col(Person.external_id) == r["external_id"])
                )
            ).scalar_one_or_none()
            if person is None:
                session.add(Person(partnership_id=partnership_id, **r))
            elif any(getattr(person, k) != v for k, v in r.items()):
                for k, v in r.items():
                    setattr(person, k, v)
                person.version += 1
            await session.flush()
        if full:
            for person in (await session.execute(select(Person).where(col(Person.partnership_id) == partnership_id))).scalars():
                if person.external_id not in seen and person.active:
                    person.active, person.left_on = False, date.today()
        await session.commit()


async def main(rows: int) -> None:
    server = make_url(SERVER_URL)
    admin = await asyncpg.connect(host=server.host, port=server.port or 5432, user=server.username, database=server.database)
    await admin.execute('DROP DATABASE IF EXISTS "wsoa_bench_sync" WITH (FORCE)')
    await admin.execute('CREATE DATABASE "wsoa_bench_sync"')
    await admin.close()
    url = server.set(database="wsoa_bench_sync").render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    results: dict[str, list[float]] = {}
    for name in ("set-based sync (the service)", "per-row ORM loop"):
        async with db.sessions() as session:
            partnership = Partnership(name=name, la_code=f"{len(results) + 1:03d}")
            session.add(partnership)
            await session.commit()
        timings = []
        for step in (feed(rows), feed(rows), feed(rows, changed=True)):
            start = time.perf_counter()
            if name.startswith("set"):
                async with db.sessions() as session:
                    await sync_people(session, actor=SYSTEM, partnership_id=partnership.id, mode="full", rows=step)
            else:
                await per_row_loop(db, partnership.id, step, full=True)
            timings.append(time.perf_counter() - start)
        results[name] = timings
    await db.dispose()
    print(f"{rows} rows, full mode, PostgreSQL                first sync   same again   10% changed + 10% left")
    for name, (first, again, changed) in results.items():
        print(f"{name:45} {first:9.2f} s {again:10.2f} s {changed:12.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().rows))
