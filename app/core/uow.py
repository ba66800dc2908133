"""The unit of work: the one owner of every write transaction.

The rule, for every write in the service:

- A request's transaction is opened, committed and rolled back by `UnitOfWorkRoute`, the route class of
  every router: services, `crud`, `Rules` hooks and routers receive its session (`SessionDep`), add rows,
  and record what they changed with `audit.record` and `changes.record`. They never call `commit()`.
- The route commits only when the handler returned a success; any exception or error status rolls
  everything back. Just before COMMIT it stores the response under the request's `Idempotency-Key`
  (`app.core.idempotency`) and appends the pending log in one statement (`app.core.log`).
- Everything outside a request (`wsoa worker`, the command line, the demo loader) writes through
  `unit_of_work(db)`, which commits the same way when its block ends without an exception.

So a write is all or nothing, with its audit events, change-feed rows and stored response, and a crash
at any moment leaves either none of them or all of them.
"""

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core import idempotency, log
from app.core.db import Database, current_unit

_ON_END = "wsoa_on_end"


def on_end(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once `session`'s unit of work has ended, committed or rolled back (a lock held to the end)."""
    session.info.setdefault(_ON_END, []).append(callback)


def _end(session: AsyncSession) -> None:
    for callback in session.info.pop(_ON_END, []):
        callback()


async def commit(session: AsyncSession) -> None:
    """Append the pending log as the last statement, then COMMIT (the only commit in the service's writes)."""
    await session.flush()  # rows added but not flushed go in before the log, not inside the COMMIT
    await log.append(session)
    await session.commit()


async def rollback(session: AsyncSession) -> None:
    log.discard(session)
    await session.rollback()


@asynccontextmanager
async def unit_of_work(db: Database) -> AsyncIterator[AsyncSession]:
    """A transaction for work outside a request: committed when the block ends, rolled back on any exception."""
    async with db.sessions() as session:
        try:
            try:
                yield session
            except BaseException:
                await rollback(session)
                raise
            await commit(session)
        finally:
            _end(session)


def _crash_point(request: Request, moment: str) -> None:
    """Fault injection for the crash tests: the process dies at the named moment (test setting only)."""
    if request.app.state.settings.crash_at == moment:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class UnitOfWorkRoute(APIRoute):
    """Runs each request of the route in one unit of work (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        replayable = "POST" in (self.methods or ()) and not getattr(self.endpoint, "streams_body", False)

        async def run(request: Request) -> Response:
            claim = await idempotency.claim_of(request) if replayable else None
            if claim is not None and (early := idempotency.in_flight_here(claim, request)) is not None:
                return early
            db: Database = request.app.state.db
            async with db.sessions() as session:
                request.state.session = session
                unit = current_unit.set(session)
                try:
                    return await _unit(request, session, claim, handler)
                finally:
                    _end(session)
                    current_unit.reset(unit)
                    if claim is not None:
                        idempotency.release_here(claim)

        return run


async def _unit(
    request: Request, session: AsyncSession, claim: idempotency.Claim | None, handler: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    """One request's write: the key's stored answer if it has one, else the handler, then COMMIT or ROLLBACK."""
    db: Database = request.app.state.db
    if claim is not None and (answer := await idempotency.check(session, claim, request)) is not None:
        await rollback(session)
        return answer
    try:
        response = await handler(request)
    except Exception as exc:
        await rollback(session)
        if claim is None:
            raise
        return await idempotency.remember_failure(db, claim, await idempotency.error_response(request, exc), request)
    if response.status_code >= 400:
        await rollback(session)
        return response if claim is None else await idempotency.remember_failure(db, claim, response, request)
    if claim is not None and not await idempotency.remember(session, claim, response):
        await rollback(session)  # answered first by another request with the key: that answer stands
        return await idempotency.replay_stored(db, claim, request)
    _crash_point(request, "before_commit")
    await commit(session)
    _crash_point(request, "after_commit")
    return idempotency.without_redaction(response)


def streams_body(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a route that reads its body as a stream (uploads): it is never buffered for an Idempotency-Key
    fingerprint, and the route is idempotent by its content instead."""
    endpoint.streams_body = True  # type: ignore[attr-defined]
    return endpoint
