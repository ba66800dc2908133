"""A meeting's pack at a real area's size, beside the plain pack of the same plan and moment, on PostgreSQL.

    python -m bench.meetings [--actions 100] [--rounds 3]

Builds `wsoa_bench_meetings`: the benchmark plan (`bench.data.seed`: `--actions` actions, 12 concerns, 500 people) and
a year and a half of its governance, a busy area's: 18 monthly Delivery Group meetings (each with 12 attendees, 4
decisions and 4 meeting actions), three stocktakes, 20 risks re-rated six times, 24 engagements and an impact statement
per concern each quarter, and one more meeting to come, whose pack is measured:

- service: `app.exports.pack.build` of that meeting's pack (the plan as recorded now, its page, what changed since the
  previous meeting, governance, risks and co-production), then its HTML;
- baseline: the same for the plan's ordinary pack at the same moment (no meeting, no `since`): what any pack costs.

Each round reports seconds and SQL statements of both, and the ratio (baseline seconds ÷ service seconds: 1.0 would
mean the meeting's page and comparison cost nothing). The statements of a pack must not grow with the number of
meetings, risks or engagements (no statement per row); the file records both counts. Results go to
bench/results/meetings-<time>.md and .json, with the commit measured.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from app.core.db import Database
from app.exports import pack as packs
from app.exports.render import render
from app.models import (
    Action,
    Board,
    Concern,
    Decision,
    DecisionAction,
    Engagement,
    EngagementConcern,
    ImpactStatement,
    Meeting,
    MeetingAction,
    Person,
    Plan,
    Risk,
    RiskAction,
    RiskRating,
)
from app.models.enums import Audience, ExportFormat
from app.partnerships.service import local
from bench.data import seed
from bench.run import counted, fresh_database, load, save, source_note, source_state

NAME = "wsoa_bench_meetings"
MONTHS = 18


def _stamp(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 17, tzinfo=UTC)


async def governance(db: Database) -> uuid.UUID:
    """A year and a half of the plan's governance, every row dated in the past; the id of the meeting to come."""
    async with db.sessions() as session:
        plan = (await session.execute(select(Plan))).scalar_one()
        pid, today = plan.partnership_id, date.today()
        people = list((await session.execute(select(Person.id).limit(40))).scalars())
        actions = list((await session.execute(select(Action.id).where(Action.plan_id == plan.id))).scalars())
        concerns = list((await session.execute(select(Concern.id).where(Concern.plan_id == plan.id))).scalars())
        attendees = [{"person_id": str(p), "name": None, "representing": "local_authority", "role": None} for p in people[:12]]
        board = Board(partnership_id=pid, name="Delivery Group", kind="delivery_group", members=[])
        session.add(board)
        await session.flush()
        meetings, decisions, decision_links, follow_ups = [], [], [], []
        for n in range(MONTHS + 1):
            held = today - timedelta(days=30 * (MONTHS - n) + 3) if n < MONTHS else today + timedelta(days=7)
            meeting = {"id": uuid.uuid4(), "partnership_id": pid, "plan_id": plan.id, "board_id": board.id, "kind": "board",
                       "title": f"Delivery Group {n + 1}",
                       "held_on": held, "status": "held" if n < MONTHS else "scheduled", "attendees": attendees, "apologies": [],
                       "concern_outcomes": [], "created_at": _stamp(min(held, today - timedelta(days=1))),
                       "updated_at": _stamp(min(held, today - timedelta(days=1))), "version": 1}  # fmt: skip
            meetings.append(meeting)
            for k in range(4):
                decision = {"id": uuid.uuid4(), "partnership_id": pid, "meeting_id": meeting["id"], "text": f"Decision {k + 1} of meeting {n + 1}.",
                            "status": "proposed" if n == MONTHS else "agreed", "created_at": meeting["created_at"],
                            "updated_at": meeting["created_at"], "version": 1}  # fmt: skip
                decisions.append(decision)
                decision_links.append(
                    {"decision_id": decision["id"], "action_id": actions[(n * 4 + k) % len(actions)], "partnership_id": pid}
                )
                follow_ups.append({"id": uuid.uuid4(), "partnership_id": pid, "meeting_id": meeting["id"], "title": f"Follow-up {k + 1}",
                                   "owner_id": people[k], "due_on": held + timedelta(days=21), "status": "done" if k else "open",
                                   "created_at": meeting["created_at"], "updated_at": meeting["created_at"], "version": 1})  # fmt: skip
        for n in range(3):
            held = today - timedelta(days=180 * n + 20)
            meetings.append({"id": uuid.uuid4(), "partnership_id": pid, "plan_id": plan.id, "kind": "stocktake", "title": f"Stocktake {n + 1}",
                             "held_on": held, "status": "held", "attendees": attendees[:4], "apologies": [], "evidence_due_on": held - timedelta(days=14),
                             "feedback": "Progress noted.", "concern_outcomes": [{"concern_id": str(c), "outcome": "partial_progress",
                             "monitoring_ended": False, "note": None} for c in concerns], "created_at": _stamp(held - timedelta(days=40)),
                             "updated_at": _stamp(held), "version": 1})  # fmt: skip
        risks, ratings, risk_links = [], [], []
        for n in range(20):
            risk = {"id": uuid.uuid4(), "partnership_id": pid, "plan_id": plan.id, "ref": f"R{n + 1}", "title": f"Risk {n + 1}",
                    "owner_id": people[n], "likelihood": 3, "impact": 4, "score": 12, "target_score": 6, "status": "open",
                    "mitigations": [{"text": "Mitigation", "status": "in_progress", "action_id": None, "due_on": None}],
                    "review_on": today + timedelta(days=n), "created_at": _stamp(today - timedelta(days=500)),
                    "updated_at": _stamp(today - timedelta(days=30)), "version": 6}  # fmt: skip
            risks.append(risk)
            risk_links.append({"risk_id": risk["id"], "action_id": actions[n % len(actions)], "plan_id": plan.id})
            for k in range(6):
                ratings.append({"id": uuid.uuid4(), "partnership_id": pid, "risk_id": risk["id"], "rated_on": today - timedelta(days=90 * k),
                                "likelihood": 3, "impact": 4, "score": 12, "target_score": 6, "actor_type": "system", "actor_id": "bench",
                                "created_at": _stamp(today - timedelta(days=90 * k + 1))})  # fmt: skip
        engagements, engagement_links = [], []
        for n in range(24):
            held = today - timedelta(days=22 * n + 2)
            engagement = {"id": uuid.uuid4(), "partnership_id": pid, "plan_id": plan.id, "held_on": held, "title": f"Engagement {n + 1}",
                          "participants": ["parent_carer_forum", "schools"], "level": "co_design", "you_said": "Said.", "we_did": "Did.",
                          "created_at": _stamp(held), "updated_at": _stamp(held), "version": 1}  # fmt: skip
            engagements.append(engagement)
            engagement_links.append({"engagement_id": engagement["id"], "concern_id": concerns[n % len(concerns)], "plan_id": plan.id})
        statements = [
            {"id": uuid.uuid4(), "partnership_id": pid, "plan_id": plan.id, "concern_id": c, "as_of": today - timedelta(days=91 * q + 1),
             "narrative": "What changed.", "judgement": "partial_progress", "judgement_reason": "Why.",
             "created_at": _stamp(today - timedelta(days=91 * q)), "updated_at": _stamp(today - timedelta(days=91 * q)), "version": 1}
            for c in concerns for q in range(6)
        ]  # fmt: skip
        for table, rows in (
            (Meeting, meetings), (Decision, decisions), (DecisionAction, decision_links), (MeetingAction, follow_ups), (Risk, risks),
            (RiskRating, ratings), (RiskAction, risk_links), (Engagement, engagements), (EngagementConcern, engagement_links),
            (ImpactStatement, statements),
        ):  # fmt: skip
            await session.execute(insert(table), rows)
        await session.commit()
        return uuid.UUID(str(meetings[MONTHS]["id"]))


async def measure(db: Database, meeting_id: uuid.UUID | None) -> tuple[float, int]:
    """Seconds to build the pack (and its HTML) and the statements it ran."""
    with counted(db) as statements:
        async with db.read_session() as session:
            plan = (await session.execute(select(Plan))).scalar_one()
            area = await local(session, plan.partnership_id)
            assert area is not None
            request = packs.Request(
                uuid.uuid4(), plan.id, plan.partnership_id, Audience.board, area.today, datetime.now(UTC), None, meeting_id
            )
            statements.count = 0
            started = time.perf_counter()
            pack = await packs.build(session, request, area)
            render(pack, ExportFormat.html)
            seconds = time.perf_counter() - started
        return seconds, statements.count


async def main_async(actions: int, rounds: int) -> list[dict[str, Any]]:
    db = Database(await fresh_database(NAME))
    try:
        await seed(db, actions=actions, people=500)
        meeting_id = await governance(db)
        await measure(db, meeting_id)  # warm: imports, templates, statement caches
        results = []
        for n in range(1, rounds + 1):
            service_s, service_q = await measure(db, meeting_id)
            baseline_s, baseline_q = await measure(db, None)
            results.append({"round": n, "service_s": round(service_s, 3), "service_statements": service_q,
                            "baseline_s": round(baseline_s, 3), "baseline_statements": baseline_q,
                            "ratio": round(baseline_s / service_s, 3)})  # fmt: skip
            print(f"round {n}: meeting pack {service_s:.2f} s ({service_q} statements), plan pack {baseline_s:.2f} s "
                  f"({baseline_q} statements), ratio {baseline_s / service_s:.2f}")  # fmt: skip
        return results
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=100, help="Actions in the plan.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start, begun = source_state(), load()
    rows = asyncio.run(main_async(args.actions, args.rounds))
    end = source_state()
    median = statistics.median(r["ratio"] for r in rows)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# A meeting's pack beside the plan's pack, {stamp}", "",
        f"PostgreSQL, one plan of {args.actions} actions with {MONTHS} monthly meetings, 3 stocktakes, 20 risks, 24 engagements and "
        f"quarterly impact statements; build and HTML; `python -m bench.meetings --actions {args.actions} --rounds {args.rounds}`.", "",
        source_note(start, end), f"Load average (1, 5, 15 min) at the start {begun}, at the end {load()}.", "",
        "| round | meeting pack s | statements | plan pack s | statements | ratio |", "|---|---|---|---|---|---|",
        *(f"| {r['round']} | {r['service_s']} | {r['service_statements']} | {r['baseline_s']} | {r['baseline_statements']} | {r['ratio']} |" for r in rows),
        "", f"Median ratio: {median:.2f}x (plan pack seconds ÷ meeting pack seconds).",
    ]  # fmt: skip
    save("meetings", stamp, lines, {"source": start, "actions": args.actions, "rounds": rows})


if __name__ == "__main__":
    main()
