"""The practical ceiling: raw Starlette + asyncpg, one SQL statement per request, PostgreSQL builds the JSON.

It serves the same action representation as the service (derived health included, computed in SQL)
and stores a progress update with one INSERT, with no authentication, no ETags, no audit trail, no
idempotency records and no framework beyond Starlette: run beside the service in the same benchmark
so their ratio, not an absolute number, is what we report.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=10, max_size=20)
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


app = Starlette(
    routes=[
        Route("/api/v1/actions", list_actions),
        Route("/api/v1/actions/{id:uuid}", get_action),
        Route("/api/v1/actions/{id:uuid}/progress-updates", post_update, methods=["POST"]),
    ],
    lifespan=lifespan,
)
