"""The reporting cycle's bulk path on PostgreSQL: a worker's pass on the day reminders are due, beside a raw baseline.

    python -m bench.reminders [--areas 20] [--actions 60] [--rounds 3]

Builds `wsoa_bench_reminders`: `--areas` partnerships (each a plan in delivery with `--actions` actions, 12 concerns and
25 people, as `bench.data.grow_sql` writes them; about 60% of actions live) with a monthly schedule. Each round starts
from no periods, returns or notifications and measures, with a local SMTP server (aiosmtpd on 127.0.0.1) receiving:

- service: `app.reporting.cycle.plan` (opens every plan's period, one expected return per live action, and queues a
  reminder per return whose owner is current) and `cycle.deliver_due` until nothing is left (one SMTP conversation,
  one one-time link and one audited outcome per message), as `wsoa worker` runs them, on the day reminders fall due;
- baseline: the same rows with three `INSERT ... SELECT` statements through asyncpg, and the same messages sent over one
  SMTP connection, then marked sent in one statement: no audit trail, change feed, links or per-message bookkeeping.

Reports seconds, messages and the ratio (baseline seconds ÷ service seconds: 1.0 would be as fast as the raw
baseline) per round and the median, to bench/results/reminders-<time>.md and .json, with the commit measured.
"""

import argparse
import asyncio
import json
import socket
import statistics
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
from aiosmtpd.controller import Controller

from app.core.config import Settings
from app.core.db import Database
from app.reporting import cycle
from app.reporting.schedule import Schedule, period_dates, working_days_before
from bench.data import grow_sql
from bench.run import RESULTS, dsn_of, fresh_database, load, source_note, source_state

SCHEDULE = {"returns_due_day_of_month": 10, "reminder_working_days": [7, 2], "escalate_after_working_days": 3}
TABLES = ("return_link", "notification", "action_return", "reporting_period")


class Sink:
    """Counts what the SMTP server receives."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def reminder_day() -> date:
    """A day on which the 7-working-day reminder of this month's period is due."""
    today = date.today()
    due = period_dates(Schedule.model_validate(SCHEDULE), today)[2]
    return working_days_before(due, 6)


async def build(areas: int, actions: int) -> str:
    url = await fresh_database("wsoa_bench_reminders")
    conn = await asyncpg.connect(dsn_of(url))
    try:
        async with conn.transaction():
            for statement in grow_sql(actions, ns="r", name="Reminder area ", la_code="'R' || lpad(k::text, 2, '0')"):
                await conn.execute(statement, 1, areas + 1)
            await conn.execute("UPDATE plan SET reporting_schedule = $1::json", json.dumps(SCHEDULE))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return url


async def reset(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    finally:
        await conn.close()


async def service(url: str, port: int, day: date) -> tuple[float, int]:
    settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, log_level="WARNING")
    db = Database(url)
    try:
        started = time.perf_counter()
        await cycle.plan(db, on=day)
        sent = 0
        while (batch := await cycle.deliver_due(db, settings)) > 0:
            sent += batch
        return time.perf_counter() - started, sent
    finally:
        await db.dispose()


BASELINE = [
    """INSERT INTO reporting_period (id, created_at, updated_at, version, partnership_id, plan_id, starts_on, ends_on, returns_due_on, status)
       SELECT gen_random_uuid(), now(), now(), 1, partnership_id, id, $1, $2, $3, 'open' FROM plan""",
    """INSERT INTO action_return (id, created_at, updated_at, version, partnership_id, plan_id, period_id, action_id, owner_id, status,
                                  returns_due_on)
       SELECT gen_random_uuid(), now(), now(), 1, a.partnership_id, a.plan_id, p.id, a.id, a.owner_id, 'expected', p.returns_due_on
       FROM action a JOIN reporting_period p ON p.plan_id = a.plan_id WHERE a.status IN ('not_started', 'in_progress')""",
    """INSERT INTO notification (id, created_at, updated_at, version, partnership_id, return_id, person_id, to_address, kind, reason,
                                 subject, dedupe_key, status, attempts, next_attempt_at)
       SELECT gen_random_uuid(), now(), now(), 1, r.partnership_id, r.id, r.owner_id, o.email, 'reminder', 'return due soon',
              'Return due', r.id || ':reminder:7d', 'pending', 0, now()
       FROM action_return r JOIN person o ON o.id = r.owner_id WHERE o.active""",
]


async def baseline(dsn: str, port: int, day: date) -> tuple[float, int]:
    starts, ends, due, _ = period_dates(Schedule.model_validate(SCHEDULE), day)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            for statement in BASELINE:
                await conn.execute(statement, *((starts, ends, due) if statement is BASELINE[0] else ()))
        rows = await conn.fetch("SELECT id, to_address, subject FROM notification WHERE status = 'pending'")
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for row in rows:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "wsoa@bench.example", row["to_address"], row["subject"]
            message.set_content("Your monthly return is due.")
            await smtp.send_message(message)
        await smtp.quit()
        await conn.execute("UPDATE notification SET status = 'sent', sent_at = now(), attempts = 1 WHERE status = 'pending'")
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


async def main_async(areas: int, actions: int, rounds: int) -> list[dict[str, Any]]:
    url = await build(areas, actions)
    dsn, day = dsn_of(url), reminder_day()
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    results = []
    try:
        for n in range(1, rounds + 1):
            await reset(dsn)
            service_s, service_sent = await service(url, port, day)
            await reset(dsn)
            baseline_s, baseline_sent = await baseline(dsn, port, day)
            results.append({"round": n, "service_s": round(service_s, 3), "service_messages": service_sent,
                            "baseline_s": round(baseline_s, 3), "baseline_messages": baseline_sent,
                            "ratio": round(baseline_s / service_s, 3)})  # fmt: skip
            print(f"round {n}: service {service_s:.2f} s for {service_sent} messages, baseline {baseline_s:.2f} s for {baseline_sent}, "
                  f"ratio {baseline_s / service_s:.2f}")  # fmt: skip
    finally:
        controller.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--areas", type=int, default=20, help="Partnerships, each with one plan.")
    parser.add_argument("--actions", type=int, default=60, help="Actions per plan.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start, begun = source_state(), load()
    rows = asyncio.run(main_async(args.areas, args.actions, args.rounds))
    end = source_state()
    median = statistics.median(r["ratio"] for r in rows)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# Reminder run beside the baseline, {stamp}", "",
        f"PostgreSQL, {args.areas} partnerships × {args.actions} actions, a worker's pass on the day reminders fall due; "
        f"`python -m bench.reminders --areas {args.areas} --actions {args.actions} --rounds {args.rounds}`.", "",
        source_note(start, end), f"Load average (1, 5, 15 min) at the start {begun}, at the end {load()}.", "",
        "| round | service s | messages | baseline s | messages | ratio |", "|---|---|---|---|---|---|",
        *(f"| {r['round']} | {r['service_s']} | {r['service_messages']} | {r['baseline_s']} | {r['baseline_messages']} | {r['ratio']} |" for r in rows),
        "", f"Median ratio: {median:.2f}x (baseline seconds ÷ service seconds).",
    ]  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"reminders-{stamp}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"reminders-{stamp}.json").write_text(
        json.dumps({"source": start, "areas": args.areas, "actions": args.actions, "rounds": rows}, indent=2)
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
