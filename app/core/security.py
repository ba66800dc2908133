"""Response headers every answer carries, and the CORS allow-list."""

import re

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_MEDIA_TYPE, PayloadTooLarge

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
API_ONLY = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"private, no-cache"),  # may be stored, but revalidated (ETag) before every use
]
DOCS = ("/docs", "/redoc", "/openapi.json")

# What browsers may send and read across origins (only for origins on WSOA_CORS_ORIGINS).
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "X-Request-ID"]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Link", "X-Request-ID", "Idempotent-Replayed", "Retry-After"]


def security_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """HSTS only over TLS (directly or, with --proxy-headers, as the proxy reports); CSP off for the docs page."""
    headers = list(ALWAYS)
    if scope.get("scheme") == "https":
        headers.append(HSTS)
    if not scope["path"].startswith(DOCS):
        headers.extend(API_ONLY)
    return headers


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so that body parsing passes it on rather than calling it a 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


class BodyLimitMiddleware:
    """413 as a problem before a body over the limit is read whole: by `Content-Length` up front, or
    while a streamed (chunked) body arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: tuple[tuple[re.Pattern[str], int], ...] = ()) -> None:
        self.app = app
        self.default_max = max_bytes
        self.larger = larger  # paths that take bigger bodies (file uploads, HR feeds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((size for pattern, size in self.larger if pattern.match(scope["path"])), self.default_max)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        body = orjson.dumps(
            {
                "type": PayloadTooLarge.type,
                "title": PayloadTooLarge.title,
                "status": 413,
                "detail": f"The request body is larger than {limit} bytes.",
                "instance": scope["path"],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})
