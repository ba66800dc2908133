"""Benchmark data sets.

`seed`: 1 plan, 12 concerns, N actions (owner, 3 milestones, 2 updates each), M people, through the ORM.
`grow_actions`: partnerships of 500 actions each (plan, 12 concerns, 25 people, 3 milestones and 2 updates
per action), written by `INSERT ... SELECT generate_series` so 100,000 actions take seconds.
`add_writers`: the same for a few small partnerships beside the seeded one (50 actions each by default, created after
all of its actions so its lists and pages are unchanged), for the writes spread over several partnerships.
`grow_events`: EHCP case events of one partnership over three years, the same way.
"""

import random
from datetime import UTC, date, datetime, timedelta

import asyncpg

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


PER_PARTNERSHIP = 500
PEOPLE = 25
TIMELINESS_AREA = "00000000-0000-4000-8000-00000000fade"


def grow_sql(
    per_partnership: int = PER_PARTNERSHIP,
    *,
    ns: str = "",
    name: str = "Scale area ",
    la_code: str = "lpad(k::text, 3, '0')",
    start: str = "2025-01-01",
) -> list[str]:
    """The statements that add partnerships numbered $1 up to $2 (see GROW); `ns` prefixes the seeds of their ids, `la_code`
    is an SQL expression in `k`, and the actions are created a second apart from `start`."""
    return [
        f"""INSERT INTO partnership (id, created_at, updated_at, version, name, la_code, timezone)
       SELECT md5('{ns}p' || k)::uuid, now(), now(), 1, '{name}' || k, {la_code}, 'Europe/London'
       FROM generate_series($1::int, $2::int - 1) k""",
        f"""INSERT INTO person (id, created_at, updated_at, version, partnership_id, external_id, display_name, email, job_title, active)
       SELECT md5('{ns}person' || k || '-' || i)::uuid, now(), now(), 1, md5('{ns}p' || k)::uuid, 'S' || i, 'Officer ' || k || '-' || i,
              'o' || i || '@area' || k || '.example', 'SEND officer', i % 20 <> 19
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, {PEOPLE - 1}) i""",
        f"""INSERT INTO plan (id, created_at, updated_at, version, partnership_id, kind, title, status, evidence_required_for_completion)
       SELECT md5('{ns}plan' || k)::uuid, now(), now(), 1, md5('{ns}p' || k)::uuid, 'wsoa', 'Written statement of action', 'in_delivery', true
       FROM generate_series($1::int, $2::int - 1) k""",
        f"""INSERT INTO concern (id, created_at, updated_at, version, partnership_id, plan_id, ref, kind, title, verbatim_text, judgement)
       SELECT md5('{ns}concern' || k || '-' || c)::uuid, now(), now(), 1, md5('{ns}p' || k)::uuid, md5('{ns}plan' || k)::uuid, 'W' || (c + 1),
              'area_of_significant_weakness', 'Weakness ' || (c + 1), 'The local area''s performance is poor.', 'not_yet_assessed'
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, 11) c""",
        f"""INSERT INTO action (id, created_at, updated_at, version, partnership_id, plan_id, ref, title, description, owner_id,
                           priority, status, planned_start_on, due_on, baseline_due_on, forecast_on, completed_on, success_criteria)
       SELECT md5('{ns}a' || k || '-' || i)::uuid, x.at, x.at, 1, md5('{ns}p' || k)::uuid, md5('{ns}plan' || k)::uuid,
              (i / 10 + 1) || '.' || (i % 10 + 1), 'Action ' || i || ' to improve EHC timeliness',
              'Recruit, train, track and report.', md5('{ns}person' || k || '-' || (i % {PEOPLE}))::uuid,
              (ARRAY['high', 'medium', 'low'])[1 + i % 3], x.status, x.due - 120, x.due, x.due,
              CASE WHEN x.status = 'in_progress' THEN x.due + (ARRAY[0, 10, 40])[1 + i % 3] END,
              CASE WHEN x.status = 'completed' THEN x.due END, '90% within 20 weeks.'
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, {per_partnership - 1}) i,
            LATERAL (SELECT (ARRAY['not_started', 'in_progress', 'in_progress', 'completed', 'suspended'])[1 + (i * 7 + k) % 5] AS status,
                            current_date + ((i * 37 + k) % 290 - 90) AS due,
                            timestamptz '{start}' + (k * {per_partnership} + i) * interval '1 second' AS at) x""",
        f"""INSERT INTO action_concern (action_id, concern_id, plan_id)
       SELECT md5('{ns}a' || k || '-' || i)::uuid, md5('{ns}concern' || k || '-' || (i % 12))::uuid, md5('{ns}plan' || k)::uuid
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, {per_partnership - 1}) i""",
        f"""INSERT INTO milestone (id, created_at, updated_at, version, partnership_id, action_id, title, due_on, status, evidence_required)
       SELECT gen_random_uuid(), now(), now(), 1, md5('{ns}p' || k)::uuid, md5('{ns}a' || k || '-' || i)::uuid, 'Checkpoint ' || (m + 1),
              current_date + ((i * 37 + k) % 290 - 90) - 30 * (2 - m), 'pending', false
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, {per_partnership - 1}) i, generate_series(0, 2) m""",
        f"""INSERT INTO progress_update (id, created_at, updated_at, version, partnership_id, action_id, author_id, rag, narrative, percent_complete)
       SELECT gen_random_uuid(), x.at, x.at, 1, md5('{ns}p' || k)::uuid, md5('{ns}a' || k || '-' || i)::uuid,
              md5('{ns}person' || k || '-' || (i % {PEOPLE}))::uuid, (ARRAY['green', 'amber', 'red', 'green'])[1 + (i + u) % 4],
              'Progress as reported to the Delivery Group.', 30 * (u + 1)
       FROM generate_series($1::int, $2::int - 1) k, generate_series(0, {per_partnership - 1}) i, generate_series(0, 1) u,
            LATERAL (SELECT timestamptz '{start}' + u * interval '30 days' + (k * {per_partnership} + i) * interval '1 second' AS at) x""",
    ]


GROW = grow_sql()

# About 4.1 events per case: received, decided (assess), draft, final, and for 8% an exception.
EVENTS = """
INSERT INTO case_event (partnership_id, event_id, case_key, type, occurred_on, outcome, reason, received_at)
SELECT $3::uuid, 'C' || c.n || '-' || e.type, c.key, e.type, e.day, e.outcome, e.reason, now()
FROM (
    SELECT n, md5('case' || n) || md5('key' || n) AS key,
           date '2023-01-01' + abs(hashtext('r' || n)) % (3 * 365 - 200) AS received,
           28 + abs(hashtext('d' || n)) % 15 AS decide, 90 + abs(hashtext('f' || n)) % 171 AS days,
           abs(hashtext('x' || n)) % 100 < 8 AS excepted
    FROM generate_series($1::int, $2::int - 1) n
) c
CROSS JOIN LATERAL (VALUES
    ('request_received', c.received, NULL, NULL),
    ('request_decision', c.received + c.decide, 'assess', NULL),
    ('draft_issued', c.received + c.days - 21, NULL, NULL),
    ('final_issued', c.received + c.days, NULL, NULL),
    ('exception', c.received + 50, NULL, 'a')
) e(type, day, outcome, reason)
WHERE e.type <> 'exception' OR c.excepted
"""
EVENTS_PER_CASE = 4.08


async def grow_actions(dsn: str, partnerships: tuple[int, int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for statement in GROW:
                await conn.execute(statement, *partnerships)
        await conn.execute("VACUUM ANALYZE")  # so no autovacuum runs during the measurement
    finally:
        await conn.close()


WRITERS = 7
WRITER_ACTIONS = 50


async def add_writers(dsn: str, partnerships: int = WRITERS, actions: int = WRITER_ACTIONS) -> None:
    """`partnerships` more partnerships, numbered 1 up, of `actions` actions each (plan, 12 concerns, 25 people, 3
    milestones and 2 updates per action, as `grow_actions`), created from March 2025: after every seeded action."""
    statements = grow_sql(actions, ns="w", name="Writer area ", la_code="'W' || lpad(k::text, 2, '0')", start="2025-03-01")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement, 1, partnerships + 1)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def add_partnership(conn: asyncpg.Connection, id: str, name: str, la_code: str) -> None:
    await conn.execute(
        "INSERT INTO partnership (id, created_at, updated_at, version, name, la_code, timezone) "
        "VALUES ($1::uuid, now(), now(), 1, $2, $3, 'Europe/London') ON CONFLICT DO NOTHING",
        id,
        name,
        la_code,
    )


async def grow_events(dsn: str, cases: tuple[int, int]) -> int:
    """Case events of cases numbered `cases[0]` up to `cases[1]` for TIMELINESS_AREA; the partnership's events now."""
    conn = await asyncpg.connect(dsn)
    try:
        await add_partnership(conn, TIMELINESS_AREA, "Timeliness area", "TML")
        for first in range(cases[0], cases[1], 100_000):
            await conn.execute(EVENTS, first, min(first + 100_000, cases[1]), TIMELINESS_AREA)
        await conn.execute("VACUUM ANALYZE case_event")
        count: int = await conn.fetchval("SELECT count(*) FROM case_event WHERE partnership_id = $1::uuid", TIMELINESS_AREA)
        return count
    finally:
        await conn.close()
