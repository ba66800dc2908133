"""Every error leaves as an RFC 9457 problem (`application/problem+json`).

Services raise `DomainError` subclasses; the handlers installed by `install_problem_handlers` turn
those, request validation errors, HTTP errors and database integrity errors into problem bodies with
a stable `type` per problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import asyncpg.exceptions as asyncpg_errors
import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    pointer: str = Field(description='JSON Pointer (RFC 6901) to the offending field, `""` for the whole body.')
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "/problems/validation",
                "title": "Invalid field values",
                "status": 422,
                "detail": "1 field is invalid.",
                "instance": "/api/v1/actions",
                "errors": [{"pointer": "/due_on", "message": "Input should be a valid date"}],
            }
        }
    )

    type: str = Field(description="Relative URI identifying the problem type, e.g. `/problems/not-found`.")
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """A rule was broken; carries its HTTP status and problem type."""

    status = 400
    type = "/problems/bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Iterable[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})  # extension members of the problem body (RFC 9457 §3.2)


class MalformedRequest(DomainError):
    status, type, title = 400, "/problems/malformed-request", "Malformed request"


class Unauthenticated(DomainError):
    status, type, title = 401, "/problems/unauthenticated", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="wsoa"'})


class Forbidden(DomainError):
    status, type, title = 403, "/problems/forbidden", "Not allowed"


class NotFound(DomainError):
    status, type, title = 404, "/problems/not-found", "Not found"


class Conflict(DomainError):
    status, type, title = 409, "/problems/conflict", "Conflict"


class Duplicate(Conflict):
    type, title = "/problems/duplicate", "Duplicate"


class DuplicateRef(Duplicate):
    type, title = "/problems/duplicate-ref", "Duplicate reference"


class InUse(Conflict):
    type, title = "/problems/in-use", "Still referenced"


class IdempotencyInFlight(Conflict):
    type, title = "/problems/idempotency-in-flight", "Request with this Idempotency-Key still running"


class PreconditionFailed(DomainError):
    status, type, title = 412, "/problems/precondition-failed", "Stale If-Match"


class PayloadTooLarge(DomainError):
    status, type, title = 413, "/problems/payload-too-large", "Request body too large"


class UnsupportedMediaType(DomainError):
    status, type, title = 415, "/problems/unsupported-media-type", "Unsupported media type"


class Unprocessable(DomainError):
    status, type, title = 422, "/problems/validation", "Invalid field values"


class IdempotencyMismatch(Unprocessable):
    type, title = "/problems/idempotency-key-reused", "Idempotency-Key reused with a different request"


class PreconditionRequired(DomainError):
    status, type, title = 428, "/problems/precondition-required", "If-Match required"


class RateLimited(DomainError):
    status, type, title = 429, "/problems/rate-limited", "Too many requests"


PROBLEM_TYPES: dict[int, tuple[str, str]] = {
    400: (MalformedRequest.type, MalformedRequest.title),
    401: (Unauthenticated.type, Unauthenticated.title),
    403: (Forbidden.type, Forbidden.title),
    404: (NotFound.type, NotFound.title),
    405: ("/problems/method-not-allowed", "Method not allowed"),
    406: ("/problems/not-acceptable", "Not acceptable"),
    409: (Conflict.type, Conflict.title),
    412: (PreconditionFailed.type, PreconditionFailed.title),
    413: (PayloadTooLarge.type, PayloadTooLarge.title),
    415: (UnsupportedMediaType.type, UnsupportedMediaType.title),
    422: (Unprocessable.type, Unprocessable.title),
    428: (PreconditionRequired.type, PreconditionRequired.title),
    429: (RateLimited.type, RateLimited.title),
    500: ("/problems/internal", "Internal server error"),
    503: ("/problems/unavailable", "Service unavailable"),
}


def problem_response(
    request: Request,
    *,
    status: int,
    detail: str,
    type_: str | None = None,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    default_type, default_title = PROBLEM_TYPES.get(status, ("about:blank", HTTPStatus(status).phrase))
    body: dict[str, Any] = {
        "type": type_ or default_type,
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def pointer_from_loc(loc: Iterable[Any]) -> str:
    """`("body", "owner_id")` → `/owner_id`; query parameters keep their name as the pointer."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


def validation_errors(raw: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    errors = []
    for err in raw:
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            loc = tuple(err.get("loc", ()))
            message = (
                "Unknown query parameter" if loc[:1] == ("query",) else "Unknown field; it is not one of this resource's writable fields"
            )
        errors.append(FieldError(pointer=pointer_from_loc(err.get("loc", ())), message=message))
    return errors


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(
        request,
        status=exc.status,
        detail=exc.detail,
        type_=exc.type,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(request, status=400, detail="The request body is not valid JSON.")
    if raw and all(tuple(e.get("loc", ()))[:1] == ("path",) for e in raw):
        return problem_response(request, status=404, detail="No resource at this path: the id is not a valid identifier.")
    errors = validation_errors(raw)
    noun = "field is" if len(errors) == 1 else "fields are"
    return problem_response(request, status=422, detail=f"{len(errors)} {noun} invalid.", errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No resource at this path."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on this path."
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(request, status=exc.status_code, detail=detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route offers on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # Services check the rules first; this is the backstop for races between two writers.
    message = str(getattr(exc, "orig", exc)).lower()
    if "unique" in message or "duplicate" in message:
        return problem_response(
            request, status=409, type_=Duplicate.type, title=Duplicate.title, detail="A resource with the same unique key already exists."
        )
    if "foreign key" in message:
        return problem_response(
            request, status=409, type_=InUse.type, title=InUse.title, detail="The change would break a reference between resources."
        )
    return problem_response(request, status=409, detail="The change conflicts with the stored data.")


# What PostgreSQL (or the way to it) going away looks like: refused or dropped connections, a server that is
# shutting down or starting up, no connection slot left.
GONE = (
    ConnectionError,
    TimeoutError,
    asyncpg_errors.PostgresConnectionError,
    asyncpg_errors.CannotConnectNowError,
    asyncpg_errors.AdminShutdownError,
    asyncpg_errors.CrashShutdownError,
    asyncpg_errors.TooManyConnectionsError,
    PoolTimeout,  # no pooled connection came free in time: the database is saturated, not the request wrong
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether the error (or what it wraps) means the database cannot be reached right now."""
    current: BaseException | None = exc
    for _ in range(6):
        if current is None:
            return False
        if isinstance(current, GONE) or (isinstance(current, DBAPIError) and current.connection_invalidated):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


async def unhandled(request: Request, exc: Exception) -> Response:
    """The catch-all answer: 503 when the database is away, else a logged 500."""
    if database_unreachable(exc):
        log.warning("database_unreachable", path=request.url.path, error=f"{type(exc).__name__}: {exc}"[:300])
        return problem_response(
            request, status=503, detail="The database is not reachable; try again shortly.", headers={"Retry-After": "5"}
        )
    log.exception("unhandled_error", path=request.url.path)
    return problem_response(request, status=500, detail="An unexpected error occurred; it has been logged.")


async def _database_error(request: Request, exc: Exception) -> Response:
    """Database errors answered here rather than by the catch-all, which lets the error on and so closes the
    client's connection: while the database is away, clients keep their connections and get 503s."""
    return await unhandled(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    for database_error in (DBAPIError, *GONE):
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, unhandled)


def catalogue() -> list[tuple[str, int, str]]:
    """Every problem type the service answers with, from the `DomainError` classes loaded (type, status, title)."""
    found: dict[str, tuple[str, int, str]] = {t: (t, status, title) for status, (t, title) in PROBLEM_TYPES.items()}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.type.startswith("/problems/"):
            found.setdefault(cls.type, (cls.type, cls.status, cls.title))
    return sorted(found.values(), key=lambda p: (p[1], p[0]))


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route can answer with."""
    documented = {400, 401, 403, 422, 429, *statuses}
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted(documented):
        type_, title = PROBLEM_TYPES.get(status, ("about:blank", HTTPStatus(status).phrase))
        out[status] = {
            "model": Problem,
            "description": title,
            "content": {
                PROBLEM_MEDIA_TYPE: {"example": {"type": type_, "title": title, "status": status, "detail": "…", "instance": "/api/v1/…"}}
            },
        }
    return out
