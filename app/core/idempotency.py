"""`Idempotency-Key` on every POST: a retry gets the first response back instead of a second write.

The first request with a key reserves it (committed on its own, so a concurrent retry sees it and
gets 409); its response is stored and replayed with `Idempotent-Replayed: true` for 24 hours. The
same key with a different body is a 422. A failed request (5xx) frees the key for a retry, and a
reservation older than the lease is taken to belong to a request that died.
"""

import hashlib
import re
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.db import Database
from app.core.errors import PROBLEM_MEDIA_TYPE, IdempotencyInFlight, IdempotencyMismatch, Unprocessable
from app.models import IdempotencyRecord, utcnow

KEY_HEADER = b"idempotency-key"
REDACT_HEADER = "wsoa-idempotency-redact"  # set by a route: body fields never to be stored for replay (secrets)
REPLAYED_HEADERS = {b"content-type", b"location", b"etag", b"link"}
NOT_STORED = {401, 403, 429}  # answers about the caller, not the request: a retry must run again


async def _problem(send: Send, path: str, error: Any) -> None:
    body = orjson.dumps({"type": error.type, "title": error.title, "status": error.status, "detail": error.detail, "instance": path})
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode())] + [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _without_redact_header(send: Send) -> Send:
    async def strip(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != REDACT_HEADER.encode()]
        await send(message)

    return strip


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, prefix: str = "/api/v1", streamed: re.Pattern[str] | None = None) -> None:
        self.app = app
        self.prefix = prefix
        self.streamed = streamed  # uploads: never buffered here (they are idempotent by content instead)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix)
            or (self.streamed is not None and self.streamed.match(scope["path"]))
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(KEY_HEADER)
        authorization = headers.get(b"authorization")
        if raw_key is None or authorization is None:
            await self.app(scope, receive, _without_redact_header(send))
            return
        key = raw_key.decode("latin-1").strip()
        if not 1 <= len(key) <= 255:
            await _problem(send, scope["path"], Unprocessable("Idempotency-Key must be 1 to 255 characters."))
            return

        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        fingerprint = hashlib.sha256(b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])).hexdigest()
        owner = hashlib.sha256(authorization).hexdigest()
        db: Database = scope["app"].state.db
        settings = scope["app"].state.settings

        verdict = await self._reserve(db, owner, key, scope["path"], fingerprint, settings)
        if isinstance(verdict, IdempotencyRecord):
            replay = [(k.encode(), v.encode()) for k, v in verdict.response_headers or []]
            await send(
                {"type": "http.response.start", "status": verdict.response_status, "headers": [*replay, (b"idempotent-replayed", b"true")]}
            )
            await send({"type": "http.response.body", "body": verdict.response_body or b""})
            return
        if verdict is not None:
            await _problem(send, scope["path"], verdict)
            return

        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await self._release(db, owner, key)
            raise
        start: Message = messages[0] if messages else {"status": 500, "headers": []}
        status: int = start["status"]
        redact = [v.decode() for k, v in start.get("headers", []) if k.lower() == REDACT_HEADER.encode()]
        start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != REDACT_HEADER.encode()]
        if status >= 500 or status in NOT_STORED:
            await self._release(db, owner, key)
        else:
            kept = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start.get("headers", []) if k.lower() in REPLAYED_HEADERS]
            content = b"".join(m.get("body", b"") for m in messages[1:])
            if redact:
                stored = orjson.loads(content)
                stored.update(dict.fromkeys(",".join(redact).split(","), None))
                content = orjson.dumps(stored)
            async with db.sessions() as session:
                await session.execute(
                    update(IdempotencyRecord)
                    .where(col(IdempotencyRecord.scope) == owner, col(IdempotencyRecord.key) == key)
                    .values(completed=True, response_status=status, response_headers=kept, response_body=content)
                )
                await session.commit()
        for message in messages:
            await send(message)

    async def _reserve(self, db: Database, owner: str, key: str, path: str, fingerprint: str, settings: Any) -> Any:
        """None: go ahead; a record: replay it; an error: answer with it."""
        now = utcnow()
        for _ in range(3):
            async with db.sessions() as session:
                session.add(
                    IdempotencyRecord(
                        scope=owner,
                        key=key,
                        method="POST",
                        path=path,
                        request_hash=fingerprint,
                        expires_at=now + timedelta(hours=settings.idempotency_ttl_hours),
                    )
                )
                try:
                    await session.commit()
                    return None
                except IntegrityError:
                    await session.rollback()
                found = (
                    await session.execute(
                        select(IdempotencyRecord).where(col(IdempotencyRecord.scope) == owner, col(IdempotencyRecord.key) == key)
                    )
                ).scalar_one_or_none()
                if found is None:
                    continue
                if found.expires_at < now:
                    await session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == found.id))
                    await session.commit()
                    continue
                if found.request_hash != fingerprint:
                    return IdempotencyMismatch("This Idempotency-Key was used with a different request; use a new key.")
                if found.completed:
                    return found
                if found.created_at > now - timedelta(seconds=settings.idempotency_lease_seconds):
                    return IdempotencyInFlight(
                        "The first request with this Idempotency-Key is still running; retry shortly.", headers={"Retry-After": "1"}
                    )
                await session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == found.id))
                await session.commit()
        return IdempotencyInFlight("The Idempotency-Key is contended; retry shortly.")

    async def _release(self, db: Database, owner: str, key: str) -> None:
        async with db.sessions() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.scope) == owner, col(IdempotencyRecord.key) == key, col(IdempotencyRecord.completed).is_(False)
                )
            )
            await session.commit()


async def purge_expired(db: Database) -> int:
    """Forget remembered responses past their TTL (the worker calls this now and then)."""
    async with db.sessions() as session:
        result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow()))  # type: ignore[arg-type]
        await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
