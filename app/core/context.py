"""Per-request context that outlives the call stack: the request id, for logs and audit events."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
