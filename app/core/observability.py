"""JSON logs with the request id, Prometheus metrics, and the middleware that feeds both."""

import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id
from app.core.errors import unhandled
from app.core.security import security_headers

REQUESTS = Counter("wsoa_http_requests_total", "HTTP requests served.", ["method", "route", "status"])
LATENCY = Histogram(
    "wsoa_http_request_duration_seconds",
    "Time to serve an HTTP request.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")
# Share links' and return forms' tokens are bearer secrets: no log line carries them (`/api/v1/shared/<redacted>`,
# `/returns/form/<redacted>`).
_TOKEN_PATHS = ("/shared/", "/returns/form/")
_TOKEN = re.compile(r"(/shared/|/returns/form/)[^/?#\s\"']+")
REDACTED = "<redacted>"


def loggable_path(path: str) -> str:
    """The path as logs may show it: a share link's or a return form's token replaced by `<redacted>`."""
    return _TOKEN.sub(rf"\g<1>{REDACTED}", path) if any(p in path for p in _TOKEN_PATHS) else path


def _redact_paths(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Any logged path or URL (ours, or a library's message) loses a link's token."""
    for field, value in event.items():
        if isinstance(value, str) and any(p in value for p in _TOKEN_PATHS):
            event[field] = loggable_path(value)
    return event


def _add_request_id(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    rid = request_id.get()
    if rid is not None:
        event.setdefault("request_id", rid)
    return event


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """One line per event on standard output: JSON by default, for ours and for libraries' (uvicorn's) alike."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_paths,
    ]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("wsoa.http")


class RequestContextMiddleware:
    """Honours or assigns `X-Request-ID`, echoes it with the security headers, logs one line per request, records metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _template(scope: Scope) -> str:
        """The route's path template (`/api/v1/actions/{id}`), so metrics do not explode per id."""
        if "endpoint" not in scope:
            return "unmatched"
        segments = scope["path"].split("/")
        for name, value in scope.get("path_params", {}).items():
            segments = [f"{{{name}}}" if segment == str(value) else segment for segment in segments]
        return "/".join(segments)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = incoming if incoming and _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        extra = [(b"x-request-id", rid.encode()), *security_headers(scope)]
        status = 500
        started = False
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            # Raised by a middleware inside this one (a route's errors have their handlers already), e.g. the
            # Idempotency-Key bookkeeping while the database is away: answered here by the same catch-all, so the
            # problem carries the request id and security headers and the client keeps its connection.
            await (await unhandled(Request(scope), exc))(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            template = self._template(scope)
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            link = scope.get("state", {}).get("share_link_id")
            log.info(
                "request",
                method=scope["method"],
                path=loggable_path(scope["path"]),
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                **({"share_link": link} if link else {}),
            )
            request_id.reset(token)
