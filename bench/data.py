"""The benchmark data set: 1 plan, 12 concerns, 200 actions (owner, 3 milestones, 2 updates), 500 people."""

import random
from datetime import UTC, date, datetime, timedelta

from app.core.db import Database
from app.models import Action, ActionConcern, Concern, Milestone, Organisation, Partnership, Person, Plan, ProgressUpdate

RAGS = ["green", "amber", "red", "green"]
STATUSES = ["not_started", "in_progress", "in_progress", "completed", "suspended"]


async def seed(db: Database, *, actions: int = 200, people: int = 500, concerns: int = 12) -> None:
    rng = random.Random(42)
    today = date.today()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    async with db.sessions() as session:
        partnership = Partnership(name="Benchmark Vale", la_code="991")
        session.add(partnership)
        await session.flush()
        pid = partnership.id
        org = Organisation(partnership_id=pid, name="Benchmark Vale Council", kind="local_authority")
        session.add(org)
        await session.flush()
        staff = [
            Person(
                partnership_id=pid,
                external_id=f"B{i:05d}",
                display_name=f"Officer {i}",
                email=f"officer{i}@bench.example",
                job_title="SEND officer",
                organisation_id=org.id,
                active=i % 50 != 0,
            )
            for i in range(people)
        ]
        session.add_all(staff)
        plan = Plan(partnership_id=pid, kind="wsoa", title="Benchmark WSoA", status="in_delivery")
        session.add(plan)
        await session.flush()
        found = [
            Concern(
                partnership_id=pid,
                plan_id=plan.id,
                ref=f"W{i + 1}",
                kind="area_of_significant_weakness",
                title=f"Weakness {i + 1}",
                verbatim_text="The local area's performance is poor. " * 5,
            )
            for i in range(concerns)
        ]
        session.add_all(found)
        await session.flush()
        for i in range(actions):
            status = rng.choice(STATUSES)
            due = today + timedelta(days=rng.randint(-90, 200))
            action = Action(
                partnership_id=pid,
                plan_id=plan.id,
                ref=f"{i // 10 + 1}.{i % 10 + 1}",
                title=f"Action number {i} to improve EHC timeliness",
                description="Recruit, train, track and report. " * 4,
                owner_id=staff[i % people].id,
                priority=rng.choice(["high", "medium", "low"]),
                status=status,
                planned_start_on=due - timedelta(days=120),
                due_on=due,
                baseline_due_on=due,
                forecast_on=due + timedelta(days=rng.choice([0, 10, 40])) if status == "in_progress" else None,
                completed_on=due if status == "completed" else None,
                success_criteria="90% within 20 weeks.",
                created_at=base + timedelta(minutes=i),
                updated_at=base + timedelta(minutes=i),
            )
            session.add(action)
            await session.flush()
            for concern in rng.sample(found, 2):
                session.add(ActionConcern(action_id=action.id, concern_id=concern.id, plan_id=plan.id))
            for m in range(3):
                session.add(
                    Milestone(
                        partnership_id=pid, action_id=action.id, title=f"Checkpoint {m + 1}", due_on=due - timedelta(days=30 * (2 - m))
                    )
                )
            for u in range(2):
                stamp = base + timedelta(days=30 * u, minutes=i)
                session.add(
                    ProgressUpdate(
                        partnership_id=pid,
                        action_id=action.id,
                        author_id=staff[i % people].id,
                        rag=rng.choice(RAGS),
                        narrative="Progress as reported to the Delivery Group.",
                        percent_complete=30 * (u + 1),
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
        await session.commit()
