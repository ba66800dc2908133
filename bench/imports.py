"""The tracker import at a real area's size on PostgreSQL, beside raw inserts of the same rows.

    python -m bench.imports [--actions 100] [--rounds 3]

Builds `wsoa_bench_imports`: a partnership with 60 people and, per round, two new draft WSoAs. The tracker is the
template's layout at a busy area's size: 6 concerns, `--actions` actions (owners by e-mail, dates, status, RAG and a
latest narrative each), three milestones per action, and 20 measures with 24 months of history. Each round:

- service: `app.imports.service.run` into the first plan in one unit of work, as `POST /plans/{id}/imports` does
  (every row through the API's write path and rules, each in a savepoint, with its audit event and change-feed row),
  then the same file again (every row unchanged: what next month's import of an unchanged tracker costs), and a dry run;
- baseline: the same concerns, actions, links, progress updates, milestones, measures and observations written into the
  second plan with one `INSERT` per table through asyncpg: no rules, audit trail, change feed or matching.

Reports seconds and SQL statements per round and the ratio (baseline seconds ÷ service seconds: 1.0 would be as fast
as raw inserts), to bench/results/imports-<time>.md and .json, with the commit measured. The statements of the
unchanged re-import must not grow with the rows (it reads the plan once and writes nothing but the audit event).
"""

import argparse
import asyncio
import io
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from openpyxl import Workbook

from app.core.auth import Actor
from app.core.db import Database
from app.core.uow import unit_of_work
from app.imports import service
from app.imports.template import ACTION_HEADINGS, DEFAULT_MAPPING, HISTORY_FROM, MEASURE_HEADINGS, MILESTONE_HEADINGS
from app.imports.workbook import read_book
from app.models import Partnership, Person, Plan
from app.models.enums import Role
from bench.run import counted, dsn_of, fresh_database, load, save, source_note, source_state

NAME = "wsoa_bench_imports"
CONCERNS, PEOPLE, MEASURES, MONTHS, MILESTONES = 6, 60, 20, 24, 3
STATUS = ["Not started", "In progress", "On track", "Delayed"]
RAG = ["Green", "Amber", "Red", "Amber/Red"]


def _month(today: date, back: int) -> date:
    index = today.year * 12 + today.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def tracker(actions: int, today: date) -> bytes:
    """The template's layout, filled in as a busy area's tracker."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append(list(ACTION_HEADINGS.values()))
    for n in range(actions):
        concern = n % CONCERNS + 1
        due = today + timedelta(days=30 + 3 * n)
        sheet.append([f"W{concern}", f"Weakness {concern} as the report words it", f"{concern}.{n + 1}", f"Action {n + 1} of the plan",
                      f"officer{n % PEOPLE}@bench.example", "Medium", STATUS[n % 4], today - timedelta(days=200), due, None, None,
                      "What success looks like.", RAG[n % 4], f"Progress on action {n + 1} this month.", None])  # fmt: skip
    milestones = book.create_sheet("Milestones")
    milestones.append(list(MILESTONE_HEADINGS.values()))
    for n in range(actions):
        for k in range(MILESTONES):
            milestones.append([f"{n % CONCERNS + 1}.{n + 1}", f"Step {k + 1}", today + timedelta(days=10 + 20 * k + n), "Pending", None])
    measures = book.create_sheet("Measures")
    months = [_month(today, back) for back in range(MONTHS, 0, -1)]
    measures.append([*MEASURE_HEADINGS.values(), HISTORY_FROM, *(f"{m:%b %Y}" for m in months)])
    for n in range(MEASURES):
        measures.append([f"Measure {n + 1}", "How it is counted.", f"W{n % CONCERNS + 1}", "%", "Higher is better", 40.0, months[0],
                         90.0, today + timedelta(days=365), None, *(40.0 + m * 2 for m in range(MONTHS))])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def area(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """The partnership, and the programme manager who imports (progress updates are signed by who records them)."""
    async with db.sessions() as session:
        partnership = Partnership(name="Import Vale", la_code="992")
        session.add(partnership)
        await session.flush()
        session.add_all(
            [Person(partnership_id=partnership.id, external_id=f"I{i:04d}", display_name=f"Officer {i}", email=f"officer{i}@bench.example")
             for i in range(PEOPLE)]
        )  # fmt: skip
        manager = Person(partnership_id=partnership.id, external_id="I-PM", display_name="Programme manager")
        session.add(manager)
        await session.commit()
        return partnership.id, manager.id


async def new_plan(db: Database, partnership: tuple[uuid.UUID, uuid.UUID], title: str) -> dict[str, Any]:
    partnership_id, importer = partnership
    async with db.sessions() as session:
        plan = Plan(partnership_id=partnership_id, kind="wsoa", title=title, status="draft")
        session.add(plan)
        await session.commit()
        return {"id": plan.id, "partnership_id": partnership_id, "kind": "wsoa", "inspection_id": None, "importer": importer}


async def imported(db: Database, plan: dict[str, Any], raw: bytes, *, dry_run: bool = False) -> tuple[float, int, int]:
    """Seconds, statements and rows refused for one import of `raw` into `plan`, committed (or, dry, undone)."""
    actor = Actor("bench", "bench", "benchmark", Role.admin, partnership_id=plan["partnership_id"], person_id=plan["importer"])
    with counted(db) as statements:
        started = time.perf_counter()
        async with unit_of_work(db) as session:
            report = await service.run(
                session, actor=actor, plan=plan, book=read_book(raw), raw=raw, mapping=DEFAULT_MAPPING, dry_run=dry_run, lenient=True
            )
        return time.perf_counter() - started, statements.count, report.refused


async def raw_inserts(dsn: str, plan: dict[str, Any], actions: int, today: date) -> float:
    """The same rows with one INSERT per table (asyncpg, no rules, audit or change feed)."""
    now = datetime.now(UTC)
    pid, plan_id = plan["partnership_id"], plan["id"]
    conn = await asyncpg.connect(dsn)
    try:
        people = [r["id"] for r in await conn.fetch("SELECT id FROM person WHERE partnership_id = $1 ORDER BY external_id", pid)]
        started = time.perf_counter()
        async with conn.transaction():
            concerns = [uuid.uuid4() for _ in range(CONCERNS)]
            await conn.executemany(
                "INSERT INTO concern (id, created_at, updated_at, version, partnership_id, plan_id, ref, kind, title, judgement) "
                "VALUES ($1, $2, $2, 1, $3, $4, $5, 'area_of_significant_weakness', $6, 'not_yet_assessed')",
                [(c, now, pid, plan_id, f"W{i + 1}", f"Weakness {i + 1}") for i, c in enumerate(concerns)],
            )
            ids = [uuid.uuid4() for _ in range(actions)]
            await conn.executemany(
                "INSERT INTO action (id, created_at, updated_at, version, partnership_id, plan_id, ref, title, owner_id, priority, status, "
                "planned_start_on, due_on, success_criteria) VALUES ($1, $2, $2, 1, $3, $4, $5, $6, $7, 'medium', 'in_progress', $8, $9, $10)",
                [(a, now, pid, plan_id, f"{n % CONCERNS + 1}.{n + 1}", f"Action {n + 1}", people[n % PEOPLE], today - timedelta(days=200),
                  today + timedelta(days=30 + 3 * n), "What success looks like.") for n, a in enumerate(ids)],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO action_concern (action_id, concern_id, plan_id) VALUES ($1, $2, $3)",
                [(a, concerns[n % CONCERNS], plan_id) for n, a in enumerate(ids)],
            )
            await conn.executemany(
                "INSERT INTO progress_update (id, created_at, updated_at, version, partnership_id, action_id, author_id, rag, narrative) "
                "VALUES ($1, $2, $2, 1, $3, $4, $5, 'amber', $6)",
                [(uuid.uuid4(), now, pid, a, people[n % PEOPLE], f"Progress on action {n + 1} this month.") for n, a in enumerate(ids)],
            )
            await conn.executemany(
                "INSERT INTO milestone (id, created_at, updated_at, version, partnership_id, action_id, title, due_on, status, "
                "evidence_required) VALUES ($1, $2, $2, 1, $3, $4, $5, $6, 'pending', false)",
                [(uuid.uuid4(), now, pid, a, f"Step {k + 1}", today + timedelta(days=10 + 20 * k + n))
                 for n, a in enumerate(ids) for k in range(MILESTONES)],
            )  # fmt: skip
            measures = [uuid.uuid4() for _ in range(MEASURES)]
            await conn.executemany(
                "INSERT INTO measure (id, created_at, updated_at, version, partnership_id, plan_id, name, definition, unit, direction, "
                "baseline_value, baseline_on, target_value, target_on, tolerance, source, frequency, trajectory) VALUES "
                "($1, $2, $2, 1, $3, $4, $5, 'How it is counted.', 'percent', 'higher_is_better', 40, $6, 90, $7, 0, 'manual', 'monthly', '[]')",
                [(m, now, pid, plan_id, f"Measure {n + 1}", _month(today, MONTHS), today + timedelta(days=365)) for n, m in enumerate(measures)],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO measure_concern (measure_id, concern_id, plan_id) VALUES ($1, $2, $3)",
                [(m, concerns[n % CONCERNS], plan_id) for n, m in enumerate(measures)],
            )
            months = [_month(today, back) for back in range(MONTHS, 0, -1)]
            await conn.executemany(
                "INSERT INTO observation (id, created_at, updated_at, version, partnership_id, measure_id, period_start_on, period_end_on, "
                "value, provisional) VALUES ($1, $2, $2, 1, $3, $4, $5, $6, $7, false)",
                [(uuid.uuid4(), now, pid, m, start, _month(today, MONTHS - k - 1) - timedelta(days=1), 40.0 + k * 2)
                 for m in measures for k, start in enumerate(months)],
            )  # fmt: skip
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main_async(actions: int, rounds: int) -> list[dict[str, Any]]:
    url = await fresh_database(NAME)
    db = Database(url)
    try:
        partnership = await area(db)
        today = date.today()
        raw = tracker(actions, today)
        results = []
        for n in range(0, rounds + 1):  # round 0 warms imports, templates and statement caches
            plan = await new_plan(db, partnership, f"Import {n}")
            cold_s, cold_q, refused = await imported(db, plan, raw)
            assert refused == 0, "the benchmark tracker must import whole"
            again_s, again_q, _ = await imported(db, plan, raw)
            dry_s, _, _ = await imported(db, await new_plan(db, partnership, f"Dry run {n}"), raw, dry_run=True)
            baseline_s = await raw_inserts(dsn_of(url), await new_plan(db, partnership, f"Raw {n}"), actions, today)
            if n == 0:
                continue
            results.append({"round": n, "import_s": round(cold_s, 3), "import_statements": cold_q, "reimport_s": round(again_s, 3),
                            "reimport_statements": again_q, "dry_run_s": round(dry_s, 3), "baseline_s": round(baseline_s, 3),
                            "ratio": round(baseline_s / cold_s, 3)})  # fmt: skip
            print(f"round {n}: import {cold_s:.2f} s ({cold_q} statements), unchanged re-import {again_s:.2f} s ({again_q}), "
                  f"dry run {dry_s:.2f} s, raw inserts {baseline_s:.3f} s, ratio {baseline_s / cold_s:.3f}")  # fmt: skip
        return results
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100, help="Actions in the tracker.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start, begun = source_state(), load()
    rows = asyncio.run(main_async(args.actions, args.rounds))
    end = source_state()
    median = statistics.median(r["ratio"] for r in rows)
    rows_in = CONCERNS + args.actions * (2 + MILESTONES) + MEASURES * (1 + MONTHS)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# The tracker import beside raw inserts, {stamp}", "",
        f"PostgreSQL; a tracker of {CONCERNS} concerns, {args.actions} actions (each with its latest progress), {args.actions * MILESTONES} "
        f"milestones and {MEASURES} measures with {MONTHS} months of history ({rows_in} rows written); "
        f"`python -m bench.imports --actions {args.actions} --rounds {args.rounds}`.", "",
        source_note(start, end), f"Load average (1, 5, 15 min) at the start {begun}, at the end {load()}.", "",
        "| round | import s | statements | unchanged re-import s | statements | dry run s | raw inserts s | ratio |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {r['round']} | {r['import_s']} | {r['import_statements']} | {r['reimport_s']} | {r['reimport_statements']} | "
          f"{r['dry_run_s']} | {r['baseline_s']} | {r['ratio']} |" for r in rows),
        "", f"Median ratio: {median:.3f}x (raw insert seconds ÷ import seconds).",
    ]  # fmt: skip
    save("imports", stamp, lines, {"source": start, "actions": args.actions, "rounds": rows})


if __name__ == "__main__":
    main()
