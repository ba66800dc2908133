"""Liveness, readiness and metrics for the platform that runs the service."""

import hmac
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from starlette.responses import Response

from app.core.db import DatabaseDep
from app.core.errors import problems
from app.core.http import json_response
from app.core.migrations import head_revision
from app.core.routing import KnownQueryRoute

# A query parameter these operations do not read is a 422, as everywhere in the API.
UNKNOWN_PARAMETER: dict[int | str, dict[str, Any]] = {status: entry for status, entry in problems().items() if status == 422}
router = APIRouter(tags=["operations"], route_class=KnownQueryRoute)  # no unit of work: these never write


class Health(BaseModel):
    status: str
    schema_revision: str | None = None


@router.get(
    "/healthz",
    summary="Liveness",
    description="200 while the process is up; touches nothing else.",
    operation_id="ops-healthz",
    response_class=Response,
    responses={
        200: {"model": Health, "description": "Up.", "content": {"application/json": {"example": {"status": "ok"}}}},
        **UNKNOWN_PARAMETER,
    },
    openapi_extra={"security": []},
)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database answers and its schema is at the latest migration; otherwise a 503 problem.",
    operation_id="ops-readyz",
    response_class=Response,
    responses={
        200: {
            "model": Health,
            "description": "Ready.",
            "content": {"application/json": {"example": {"status": "ready", "schema_revision": "20261129_0001"}}},
        },
        **{k: v for k, v in problems(503).items() if k == 503},
        **UNKNOWN_PARAMETER,
    },
    openapi_extra={"security": []},
)
async def readyz(request: Request, db: DatabaseDep) -> Response:
    from app.core.errors import problem_response

    try:
        async with db.read() as reads:
            found = await reads.rows(text("SELECT version_num FROM alembic_version"), cache_key="schema-revision")
        current = found[0]["version_num"] if found else None
    except Exception:  # the database is down or has no schema yet: not ready, whatever the cause
        return problem_response(request, status=503, detail="The database is not reachable or has no schema.", headers={"Retry-After": "5"})
    head = head_revision()
    if current != head:
        return problem_response(
            request, status=503, detail=f"The schema is at {current}, not at {head}; run `wsoa migrate`.", headers={"Retry-After": "5"}
        )
    return json_response({"status": "ready", "schema_revision": current})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Request counts and latencies by route, in the Prometheus text format. With `WSOA_METRICS_TOKEN` set, "
    "only for `Authorization: Bearer <token>`; in production without it, not served (404).",
    operation_id="ops-metrics",
    response_class=Response,
    responses={
        404: {"description": "Not served: no or a wrong metrics token, where one is needed."},
        200: {
            "description": "Metrics.",
            "content": {"text/plain": {"example": 'wsoa_http_requests_total{method="GET",route="/api/v1/actions",status="200"} 42.0\n'}},
        },
        **UNKNOWN_PARAMETER,
    },
    openapi_extra={"security": []},
)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value()
    if token or settings.env == "production":
        # With a token, only the scraper that holds it; in production without one, nothing (as if absent).
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not token or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return Response(status_code=404)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
