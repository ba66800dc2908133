"""The practical ceiling: raw Starlette + asyncpg, one SQL statement per request, PostgreSQL builds the JSON.

It serves the same action representation as the service (derived health included, computed in SQL)
and stores a progress update with one INSERT, with no authentication, no ETags, no audit trail, no
idempotency records and no framework beyond Starlette: run beside the service in the same benchmark
so their ratio, not an absolute number, is what we report.

The heavy scenarios, the same way: a people sync is one upsert of the feed (`unnest`) and one
deactivation, with no per-row validation, change feed or audit; case events are one
`INSERT ... ON CONFLICT DO NOTHING` of the batch (case references HMAC-hashed as the service does); the
timeliness report runs the service's own two statements (`app.cases.timeliness`, so the database's
share is the same) on a plain connection; an XLSX export is two queries (the plan's actions with owner and
latest update, as the pack has them; their milestones) written by openpyxl's write-only workbook, not kept.
"""

import hashlib
import hmac
import io
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.cases import timeliness
from app.core.reads import AsyncpgReads, Compiled

ACTION_JSON = """
    json_build_object(
        'id', a.id, 'created_at', a.created_at, 'updated_at', a.updated_at, 'version', a.version,
        'partnership_id', a.partnership_id, 'plan_id', a.plan_id, 'ref', a.ref, 'title', a.title,
        'description', a.description, 'owner_id', a.owner_id, 'priority', a.priority, 'status', a.status,
        'planned_start_on', a.planned_start_on, 'due_on', a.due_on, 'baseline_due_on', a.baseline_due_on,
        'forecast_on', a.forecast_on, 'completed_on', a.completed_on, 'success_criteria', a.success_criteria,
        'concern_ids', (SELECT coalesce(json_agg(x.concern_id ORDER BY x.concern_id::text), '[]') FROM action_concern x WHERE x.action_id = a.id),
        'contributor_ids', (SELECT coalesce(json_agg(x.person_id ORDER BY x.person_id::text), '[]') FROM action_contributor x WHERE x.action_id = a.id),
        'organisation_ids', (SELECT coalesce(json_agg(x.organisation_id ORDER BY x.organisation_id::text), '[]') FROM action_organisation x WHERE x.action_id = a.id),
        'reported_rag', (SELECT u.rag FROM progress_update u WHERE u.action_id = a.id ORDER BY u.created_at DESC, u.id DESC LIMIT 1),
        'owner_active', o.active,
        'rag', CASE
            WHEN a.status = 'completed' THEN 'blue'
            WHEN d.days_overdue > 30 OR d.slip > 30 THEN 'red'
            WHEN d.overdue OR d.slip > 0 OR d.late_start THEN 'amber'
            ELSE 'green' END,
        'baseline_rag', CASE
            WHEN a.status = 'completed' THEN 'blue'
            WHEN b.days_overdue > 30 OR b.slip > 30 THEN 'red'
            WHEN b.overdue OR b.slip > 0 OR d.late_start THEN 'amber'
            ELSE 'green' END,
        'variance_days', CASE
            WHEN a.baseline_due_on IS NULL THEN NULL
            WHEN a.status = 'completed' AND a.completed_on IS NOT NULL THEN a.completed_on - a.baseline_due_on
            WHEN a.status IN ('completed', 'suspended', 'cancelled') THEN a.due_on - a.baseline_due_on
            ELSE greatest(a.due_on, a.forecast_on, CASE WHEN a.due_on < t.today THEN t.today END) - a.baseline_due_on END,
        'reprogramme_count', (SELECT count(*) FROM action_reprogramme r WHERE r.action_id = a.id),
        'latest_reprogramme', (SELECT json_build_object('id', r.id, 'action_id', r.action_id, 'previous_due_on', r.previous_due_on,
                                  'new_due_on', r.new_due_on, 'baseline_due_on', r.baseline_due_on, 'reason', r.reason,
                                  'approved_at_meeting', r.approved_at_meeting, 'actor_type', r.actor_type, 'actor_id', r.actor_id,
                                  'person_id', r.person_id, 'created_at', r.created_at)
                               FROM action_reprogramme r WHERE r.action_id = a.id ORDER BY r.created_at DESC, r.id DESC LIMIT 1),
        'is_overdue', d.overdue, 'days_overdue', d.days_overdue,
        'is_slipping', NOT d.overdue AND (d.slip > 0 OR d.late_start),
        'owner', CASE WHEN o.id IS NULL THEN NULL ELSE json_build_object('id', o.id, 'display_name', o.display_name, 'job_title', o.job_title, 'active', o.active) END,
        'milestones', (SELECT coalesce(json_agg(json_build_object('id', m.id, 'title', m.title, 'due_on', m.due_on, 'status', m.status, 'met_on', m.met_on)
                        ORDER BY m.due_on, m.id), '[]') FROM milestone m WHERE m.action_id = a.id)
    )
"""

FROM = """
    FROM action a
    JOIN partnership p ON p.id = a.partnership_id
    LEFT JOIN person o ON o.id = a.owner_id
    CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE p.timezone)::date AS today) t
    CROSS JOIN LATERAL (
        SELECT
            a.status NOT IN ('completed', 'suspended', 'cancelled') AND a.due_on IS NOT NULL AND a.due_on < t.today AS overdue,
            CASE WHEN a.status NOT IN ('completed', 'suspended', 'cancelled') AND a.due_on < t.today THEN t.today - a.due_on ELSE 0 END AS days_overdue,
            coalesce(a.forecast_on - a.due_on, 0) AS slip,
            a.status = 'not_started' AND a.planned_start_on IS NOT NULL AND a.planned_start_on < t.today AS late_start
    ) d
    CROSS JOIN LATERAL (
        SELECT
            a.status NOT IN ('completed', 'suspended', 'cancelled') AND coalesce(a.baseline_due_on, a.due_on) < t.today AS overdue,
            CASE WHEN a.status NOT IN ('completed', 'suspended', 'cancelled') AND coalesce(a.baseline_due_on, a.due_on) < t.today
                 THEN t.today - coalesce(a.baseline_due_on, a.due_on) ELSE 0 END AS days_overdue,
            coalesce(a.forecast_on - coalesce(a.baseline_due_on, a.due_on), 0) AS slip
    ) b
"""

LIST_SQL = f"""
SELECT json_build_object('items', coalesce(json_agg(j ORDER BY created_at, id), '[]'), 'next_cursor', NULL)::text FROM (
    SELECT a.created_at, a.id, {ACTION_JSON} AS j {FROM}
    ORDER BY a.created_at, a.id LIMIT $1
) page
"""

DETAIL_SQL = f"SELECT {ACTION_JSON}::text {FROM} WHERE a.id = $1"

UPDATE_SQL = """
INSERT INTO progress_update (id, created_at, updated_at, version, partnership_id, action_id, author_id, rag, narrative, percent_complete)
SELECT gen_random_uuid(), now(), now(), 1, a.partnership_id, a.id, $2, $3, $4, $5 FROM action a WHERE a.id = $1
RETURNING json_build_object(
    'id', id, 'created_at', created_at, 'updated_at', updated_at, 'version', version, 'partnership_id', partnership_id,
    'action_id', action_id, 'author_id', author_id, 'rag', rag, 'narrative', narrative, 'percent_complete', percent_complete,
    'blockers', blockers, 'next_steps', next_steps
)::text
"""


SYNC_SQL = """
INSERT INTO person (id, created_at, updated_at, version, partnership_id, external_id, display_name, email, job_title, active)
SELECT gen_random_uuid(), now(), now(), 1, $1, u.external_id, u.display_name, u.email, u.job_title, u.active
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS u(external_id, display_name, email, job_title, active)
ON CONFLICT (partnership_id, external_id) DO UPDATE SET
    display_name = EXCLUDED.display_name, email = EXCLUDED.email, job_title = EXCLUDED.job_title, active = EXCLUDED.active,
    left_on = CASE WHEN EXCLUDED.active THEN NULL ELSE coalesce(person.left_on, current_date) END,
    version = person.version + 1, updated_at = now()
WHERE (person.display_name, person.email, person.job_title, person.active)
      IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.email, EXCLUDED.job_title, EXCLUDED.active)
RETURNING xmax = 0 AS created
"""
LEAVERS_SQL = """
UPDATE person SET active = false, left_on = current_date, version = version + 1, updated_at = now()
WHERE partnership_id = $1 AND active AND external_id IS NOT NULL AND external_id NOT IN (SELECT unnest($2::text[]))
"""
EVENTS_SQL = """
INSERT INTO case_event (partnership_id, event_id, case_key, type, occurred_on, outcome, reason, received_at)
SELECT $1, u.event_id, u.case_key, u.type, u.occurred_on, u.outcome, u.reason, now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[]) AS u(event_id, case_key, type, occurred_on, outcome, reason)
ON CONFLICT (partnership_id, event_id) DO NOTHING
"""
SHEETS = {
    "Actions": """SELECT a.ref, a.title, o.display_name, o.job_title, a.status, a.priority, a.due_on, a.baseline_due_on, a.forecast_on,
                         a.completed_on, a.success_criteria, u.rag, u.percent_complete, u.narrative, u.blockers
                  FROM action a LEFT JOIN person o ON o.id = a.owner_id
                  LEFT JOIN LATERAL (SELECT * FROM progress_update p WHERE p.action_id = a.id
                                     ORDER BY p.created_at DESC, p.id DESC LIMIT 1) u ON true
                  WHERE a.plan_id = $1 ORDER BY a.ref""",
    "Milestones": """SELECT a.ref, m.title, m.due_on, m.status, m.met_on FROM milestone m JOIN action a ON a.id = m.action_id
                     WHERE a.plan_id = $1 ORDER BY a.ref, m.due_on""",
}
CASE_KEY = os.environ.get("BENCH_CASE_KEY", "baseline-key").encode()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=10, max_size=20)
    app.state.compiled = {}
    yield
    await app.state.pool.close()


async def list_actions(request: Request) -> Response:
    limit = int(request.query_params.get("limit", "50"))
    async with request.app.state.pool.acquire() as conn:
        body = await conn.fetchval(LIST_SQL, limit)
    return Response(body, media_type="application/json")


async def get_action(request: Request) -> Response:
    async with request.app.state.pool.acquire() as conn:
        body = await conn.fetchval(DETAIL_SQL, request.path_params["id"])
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="application/json")


async def post_update(request: Request) -> Response:
    data = orjson.loads(await request.body())
    async with request.app.state.pool.acquire() as conn:
        body = await conn.fetchval(
            UPDATE_SQL,
            request.path_params["id"],
            uuid.UUID(data["author_id"]),
            data["rag"],
            data["narrative"],
            data.get("percent_complete"),
        )
    if body is None:
        return Response(status_code=404)
    return Response(body, status_code=201, media_type="application/json")


async def sync_people(request: Request) -> Response:
    data = orjson.loads(await request.body())
    rows = data["people"]
    partnership_id = uuid.UUID(data["partnership_id"])
    columns = [[r.get(k) for r in rows] for k in ("external_id", "display_name", "email", "job_title")]
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        done = await conn.fetch(SYNC_SQL, partnership_id, *columns, [r.get("active", True) for r in rows])
        left = await conn.execute(LEAVERS_SQL, partnership_id, columns[0]) if data.get("mode") == "full" else "UPDATE 0"
    created = sum(1 for r in done if r["created"])
    result = {"created": created, "updated": len(done) - created, "unchanged": len(rows) - len(done),
              "deactivated": int(left.split()[-1]), "errors": []}  # fmt: skip
    return Response(orjson.dumps(result), media_type="application/json")


async def case_events(request: Request) -> Response:
    data = orjson.loads(await request.body())
    events = data["events"]
    partnership_id = uuid.UUID(data["partnership_id"])
    keys = [hmac.new(CASE_KEY, e["case_ref"].encode(), hashlib.sha256).hexdigest() for e in events]
    async with request.app.state.pool.acquire() as conn:
        status = await conn.execute(
            EVENTS_SQL,
            partnership_id,
            [e["event_id"] for e in events],
            keys,
            [e["type"] for e in events],
            [date.fromisoformat(e["occurred_on"]) for e in events],
            [e.get("outcome") for e in events],
            [e.get("reason") for e in events],
        )
    accepted = int(status.split()[-1])
    return Response(orjson.dumps({"accepted": accepted, "duplicates": len(events) - accepted}), media_type="application/json")


DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


async def ehcp_timeliness(request: Request) -> Response:
    q = request.query_params
    cache: dict[object, Compiled] = request.app.state.compiled
    async with request.app.state.pool.acquire() as conn:
        found = await timeliness.report(
            AsyncpgReads(conn, DIALECT, cache),
            partnership_id=request.path_params["id"],
            start=date.fromisoformat(q["from"]),
            end=date.fromisoformat(q["to"]),
            granularity=q.get("granularity", "month"),  # type: ignore[arg-type]
        )
    return Response(orjson.dumps(found), media_type="application/json")


async def export_xlsx(request: Request) -> Response:
    from openpyxl import Workbook

    async with request.app.state.pool.acquire() as conn:
        sheets = {name: await conn.fetch(sql, request.path_params["id"]) for name, sql in SHEETS.items()}
    book = Workbook(write_only=True)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    blob = out.getvalue()
    return Response(
        orjson.dumps({"size_bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}), status_code=201, media_type="application/json"
    )


app = Starlette(
    routes=[
        Route("/api/v1/actions", list_actions),
        Route("/api/v1/actions/{id:uuid}", get_action),
        Route("/api/v1/actions/{id:uuid}/progress-updates", post_update, methods=["POST"]),
        Route("/api/v1/people/sync", sync_people, methods=["POST"]),
        Route("/api/v1/case-events", case_events, methods=["POST"]),
        Route("/api/v1/partnerships/{id:uuid}/ehcp-timeliness", ehcp_timeliness),
        Route("/api/v1/plans/{id:uuid}/exports", export_xlsx, methods=["POST"]),
    ],
    lifespan=lifespan,
)
