"""`Idempotency-Key` on every POST: a retry gets the first response back instead of a second write.

The response is stored in the same transaction as the write it answers (`remember`, called by the unit of
work just before COMMIT), so a crash at any moment leaves either nothing (the retry runs the write once)
or the write with its stored response (the retry replays it). Nothing is reserved in a transaction of its
own, so there is no reservation a dead process could leave behind.

- PostgreSQL: the first statement of a keyed request takes a transaction-scoped advisory lock on the key
  and reads the stored response in one round trip (`check`): a stored response is replayed (a different
  body is a 422) and a key whose lock another transaction holds is still running (409).
- SQLite: writers run one at a time; a second request with the key waits for the first, runs, finds the
  stored row when it inserts its own, rolls back and replays the first response. Within one process a key
  still running is a 409 at once (`in_flight_here`).

Client errors (4xx but 401, 403 and 429, which are about the caller) are remembered too, in a short
transaction after the rollback; server errors free the key. Responses are replayed for 24 hours, and only
to a caller whose credential still authenticates (`claim_of` authenticates before any stored answer is read).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response

from app.core.auth import authenticate
from app.core.db import Database
from app.core.errors import DomainError, IdempotencyInFlight, IdempotencyMismatch, Unprocessable, problem_response
from app.models import IdempotencyRecord, utcnow

KEY_HEADER = "idempotency-key"
REDACT_HEADER = "wsoa-idempotency-redact"  # set by a route: body fields never to be stored for replay (secrets)
REPLAYED_HEADERS = {"content-type", "location", "etag", "link", "retry-after"}
NOT_STORED = {401, 403, 429}  # answers about the caller, not the request: a retry must run again
RECORD = IdempotencyRecord.__table__  # type: ignore[attr-defined]
STORED = ("id", "request_hash", "response_status", "response_headers", "response_body", "expires_at")


@dataclass(frozen=True, slots=True)
class Claim:
    scope: str  # SHA-256 of the credential: keys are per caller
    key: str
    path: str
    fingerprint: str
    ttl_hours: int

    @property
    def lock_id(self) -> int:
        digest = hashlib.sha256(f"idempotency:{self.scope}:{self.key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


_running: set[tuple[str, str]] = set()  # keys whose first request is running in this process


async def claim_of(request: Request) -> Claim | None:
    """The request's key, or None when it has none (or no credential to scope it by)."""
    key = request.headers.get(KEY_HEADER)
    authorization = request.headers.get("authorization")
    if key is None or authorization is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 255:
        raise Unprocessable("Idempotency-Key must be 1 to 255 characters.")
    # Only a caller who may call now gets an answer: a revoked or expired key, or a leaver's, is a 401 here,
    # before any stored response could be replayed to it.
    await authenticate(request.app.state.db, request)
    body = await request.body()
    path = request.url.path
    fingerprint = hashlib.sha256(b"\n".join([path.encode(), request.url.query.encode(), body])).hexdigest()
    settings = request.app.state.settings
    return Claim(hashlib.sha256(authorization.encode("latin-1")).hexdigest(), key, path, fingerprint, settings.idempotency_ttl_hours)


def _problem(request: Request, error: DomainError) -> Response:
    return problem_response(request, status=error.status, type_=error.type, title=error.title, detail=error.detail, headers=error.headers)


def _in_flight(request: Request) -> Response:
    return _problem(request, IdempotencyInFlight("The first request with this Idempotency-Key is still running; retry shortly.",
                                                 headers={"Retry-After": "1"}))  # fmt: skip


def in_flight_here(claim: Claim, request: Request | None = None) -> Response | None:
    """A 409 when this process is already running the key's first request; else marks it running."""
    if (claim.scope, claim.key) in _running:
        assert request is not None
        return _in_flight(request)
    _running.add((claim.scope, claim.key))
    return None


def release_here(claim: Claim) -> None:
    _running.discard((claim.scope, claim.key))


def _replay(record: Any, claim: Claim, request: Request) -> Response:
    if record.request_hash != claim.fingerprint:
        return _problem(request, IdempotencyMismatch("This Idempotency-Key was used with a different request; use a new key."))
    headers = {k: v for k, v in record.response_headers or []}
    response = Response(record.response_body or b"", status_code=record.response_status, headers=headers)
    response.headers["idempotent-replayed"] = "true"
    return response


async def check(session: AsyncSession, claim: Claim, request: Request) -> Response | None:
    """PostgreSQL: lock the key for this transaction and read its stored response, in one statement.
    None: go ahead; else the answer (a replay, a 409 or a 422). SQLite: nothing to do here."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    lock = select(func.pg_try_advisory_xact_lock(claim.lock_id).label("locked")).subquery()
    found = (
        await session.execute(
            select(lock.c.locked, *(RECORD.c[name] for name in STORED)).select_from(
                lock.outerjoin(RECORD, (RECORD.c.scope == claim.scope) & (RECORD.c.key == claim.key))
            )
        )
    ).one()
    if not found.locked:
        return _in_flight(request)
    if found.id is None:
        return None
    if found.expires_at < utcnow() or found.response_status is None:  # expired, or a reservation of an older version
        await session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == found.id))
        return None
    return _replay(found, claim, request)


def _stored_body(response: Response) -> bytes:
    body = bytes(response.body)
    redact = response.headers.get(REDACT_HEADER)
    if redact:
        stored = orjson.loads(body)
        stored.update(dict.fromkeys(redact.split(","), None))
        body = orjson.dumps(stored)
    return body


async def _insert(session: AsyncSession, claim: Claim, response: Response) -> bool:
    """Store the response unless the key already has a live one; True when this one was stored."""
    now = utcnow()
    values = {
        "scope": claim.scope, "key": claim.key, "method": "POST", "path": claim.path, "request_hash": claim.fingerprint,
        "completed": True, "response_status": response.status_code,
        "response_headers": [[k, v] for k, v in response.headers.items() if k in REPLAYED_HEADERS],
        "response_body": _stored_body(response), "created_at": now, "expires_at": now + timedelta(hours=claim.ttl_hours),
    }  # fmt: skip
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = insert(RECORD).values(**values)
    # A live answer stands (nothing returned); an expired one is replaced by this one.
    stmt = new.on_conflict_do_update(
        index_elements=["scope", "key"],
        set_={k: new.excluded[k] for k in values if k not in ("scope", "key")},
        where=(RECORD.c.expires_at < now) | RECORD.c.response_status.is_(None),  # expired, or an older version's reservation
    ).returning(RECORD.c.id)
    return (await session.execute(stmt)).first() is not None


async def remember(session: AsyncSession, claim: Claim, response: Response) -> bool:
    """Store a successful response in the write's own transaction; False: the key was answered already."""
    return await _insert(session, claim, response)


async def _stored(db: Database, claim: Claim) -> Any:
    async with db.read_session() as session:
        return (
            await session.execute(
                select(IdempotencyRecord).where(col(IdempotencyRecord.scope) == claim.scope, col(IdempotencyRecord.key) == claim.key)
            )
        ).scalar_one_or_none()


async def replay_stored(db: Database, claim: Claim, request: Request) -> Response:
    record = await _stored(db, claim)
    if record is None or record.response_status is None:  # purged in between, or a reservation of an older version
        return _in_flight(request)
    return _replay(record, claim, request)


async def remember_failure(db: Database, claim: Claim, response: Response, request: Request) -> Response:
    """A refused request wrote nothing; its answer is remembered on its own (client errors only)."""
    if response.status_code == 401:  # not a caller: nothing stored is shown to it
        return without_redaction(response)
    if response.status_code >= 500 or response.status_code in NOT_STORED or "retry-after" in response.headers:
        # Not remembered: a server error or an answer about the caller, or a state that passes (retry later).
        # The key may have been answered by an earlier request, though (SQLite runs the retry before it knows).
        stored = await _stored(db, claim)
        if stored is not None and stored.response_status is not None and stored.expires_at > utcnow():
            return _replay(stored, claim, request)
        return without_redaction(response)
    async with db.transaction() as session:
        stored = await _insert(session, claim, response)
    if not stored:  # the key was answered first by another request: that answer stands
        return await replay_stored(db, claim, request)
    return without_redaction(response)


async def error_response(request: Request, exc: Exception) -> Response:
    """The problem response the app's exception handlers give for `exc`."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return await handlers[cls](request, exc)  # type: ignore[no-any-return]
    raise exc


def without_redaction(response: Response) -> Response:
    if REDACT_HEADER in response.headers:
        del response.headers[REDACT_HEADER]
    return response


async def purge_expired(db: Database) -> int:
    """Forget remembered responses past their TTL (the worker calls this now and then)."""
    async with db.transaction() as session:
        result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow()))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
