"""The application: routers, problem handlers, middleware and lifespan."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware

from app.apikeys.router import router as api_keys_router
from app.audit.router import router as audit_router
from app.cases.router import router as cases_router
from app.coproduction.router import router as coproduction_router
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.docs import install_docs
from app.core.errors import PROBLEM_MEDIA_TYPE, catalogue, install_problem_handlers
from app.core.observability import RequestContextMiddleware, configure_logging
from app.core.oidc import OidcVerifier
from app.core.ratelimit import RateLimiter
from app.core.routing import API_PREFIX
from app.core.security import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, BodyLimitMiddleware
from app.evidence.router import router as evidence_router
from app.evidence.storage import storage_from
from app.exports.router import router as exports_router
from app.governance.router import router as governance_router
from app.impact.router import router as impact_router
from app.imports.router import router as imports_router
from app.integrations.router import router as integrations_router
from app.integrations.subscriptions import router as webhooks_router
from app.measures.router import router as measures_router
from app.ops.router import router as ops_router
from app.partnerships.router import router as partnerships_router
from app.plans.router import router as plans_router
from app.progress.router import router as progress_router
from app.reporting.form import router as return_form_router
from app.reporting.me import router as me_router
from app.reporting.router import router as reporting_router
from app.risks.router import router as risks_router

VERSION = "0.1.0"
DESCRIPTION = (
    """
Tracks a local area's SEND improvement plan after an Ofsted/CQC inspection: the concerns from the
report, the actions and milestones that answer them, who owns them, progress and derived health.

**Conventions.** JSON objects only, `snake_case`, unknown fields rejected (422). Lists are keyset
paginated (`limit`, `cursor`, `Link: rel="next"`). Single resources carry a strong `ETag`; `PATCH`
(JSON Merge Patch) and `DELETE` need `If-Match` (428 without, 412 when stale). Every `POST` accepts an
`Idempotency-Key` (replayed for 24 h with `Idempotent-Replayed: true`; a different body with the same
key is a 422; a retry while the first request is running is a 409). Errors are RFC 9457 problems.

**Authentication.** `Authorization: Bearer wsoa_<prefix>_<secret>` (an API key) or a JWT from the configured
OIDC issuer. Each operation names the roles it needs (`x-required-roles`); another partnership's objects are 404.

**Problem types.**
"""
    + "\n".join(f"- `{t}` ({status}): {title}" for t, status, title in catalogue())
    + "\n"
)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title="wsoa-tracker", version=VERSION, description=DESCRIPTION, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "wsoa_<prefix>_<secret>",
            "description": "An API key from `wsoa keys create` or `POST /api-keys`.",
        },
        "oidcJwt": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the issuer configured in `WSOA_OIDC_ISSUER` (role, partnership and person from its claims).",
        },
    }
    schema["security"] = [{"apiKey": []}, {"oidcJwt": []}]
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    problem = content.pop("application/json")
                    content[PROBLEM_MEDIA_TYPE] = {**problem, **content.get(PROBLEM_MEDIA_TYPE, {})}
    app.openapi_schema = schema
    return schema


class UnsafeConfiguration(RuntimeError):
    """Production mode found settings it will not run with (`Settings.production_problems`)."""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.env == "production" and (problems := settings.production_problems()):
        raise UnsafeConfiguration("Production mode will not start:\n" + "\n".join(f"- {p}" for p in problems))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.db = database or Database(settings.database_url, pool_size=settings.db_pool_size)
        app.state.limiter = RateLimiter(app.state.db, settings.rate_limits)
        try:
            yield
        finally:
            if owned:
                await app.state.db.dispose()

    app = FastAPI(
        title="wsoa-tracker",
        version=VERSION,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.operation_id or route.name,
        docs_url=None,  # both pages are served with their assets by `install_docs`, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
        # Prometheus metrics and JSON logs are always on; OpenTelemetry costs ~5% per request, so it is opt-in.
        telemetry=None if settings.otel_enabled else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.oidc = OidcVerifier(settings)
    app.state.storage = storage_from(settings)
    if database is not None:
        app.state.db = database
        app.state.limiter = RateLimiter(database, settings.rate_limits)
    install_problem_handlers(app)
    if settings.docs:
        install_docs(app)
    # Routes are added flat: each level of included routers costs every request another match.
    routers = (
        partnerships_router, plans_router, progress_router, measures_router, cases_router, evidence_router, exports_router, integrations_router, webhooks_router, api_keys_router, audit_router, reporting_router, impact_router, risks_router, governance_router, coproduction_router, imports_router, me_router, return_form_router, ops_router,
    )  # fmt: skip
    for router in routers:
        app.router.routes.extend(router.routes)
    upload_path = re.compile(rf"^{API_PREFIX}/evidence/[^/]+/file$")
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=600,
        )
    sync_path = re.compile(rf"^{API_PREFIX}/(people/sync|case-events)$")
    import_path = re.compile(rf"^{API_PREFIX}/case-events/imports$")
    tracker_path = re.compile(rf"^{API_PREFIX}/plans/[^/]+/imports$")
    larger = (
        (upload_path, settings.upload_max_bytes), (sync_path, settings.sync_max_bytes), (import_path, settings.case_import_max_bytes),
        (tracker_path, settings.upload_max_bytes),
    )  # fmt: skip
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, larger=larger)
    app.add_middleware(RequestContextMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
