"""Webhooks after the fact: deliveries derived from the committed change feed, sent with no transaction open.

Standard Webhooks: each delivery carries `webhook-id` (the event id, the same for every attempt),
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the
subscription's secret (https://www.standardwebhooks.com).

`wsoa worker` repeats two steps; neither runs inside a write of the service, and neither keeps a
transaction open while it talks to a receiver.

1. `fan_out` turns committed change-feed rows (`change`, numbered gapless in commit order by
   `app.core.log`) into deliveries. Each subscription keeps `change_cursor`, the last `change.seq` it was
   fanned out to; one short unit of work reads the subscriptions (locked with `FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so two workers never fan out for the same subscription at once; SQLite serialises writers
   anyway), reads the next changes after the lowest cursor, inserts the matching deliveries in one
   statement and moves the cursors in one more. Because `seq` order is commit order, a change numbered
   after a cursor is never committed behind it, so nothing is skipped. The event id is derived from the
   change (`uuid5`), so a change fanned out twice (two workers, a cursor moved back) is still one delivery:
   the insert ignores a (subscription, event) pair that exists. Inactive subscriptions are moved past the
   changes too, without deliveries: a subscription hears nothing of what happened while it was off.
   Writes pay nothing for webhooks, and a write that rolls back has no change row, so it sends nothing.

2. `deliver_due` claims due deliveries in one short transaction: it moves their `next_attempt_at` a lease
   ahead and bumps their `version` (the claim's token), `FOR UPDATE SKIP LOCKED` on PostgreSQL, and commits.
   The claimed deliveries are then sent concurrently with no transaction open, each bounded by a hard
   deadline shorter than the lease; each outcome is recorded by a short unit of work of its own, only if
   the delivery still carries the claim's version (a redelivery or a later claim wins otherwise). A worker
   that dies between claim and record leaves the delivery pending: another worker sends it again once the
   lease has run out, with the same `webhook-id` (at least once). Failures are retried with exponential
   backoff and full jitter until `WSOA_WEBHOOK_RETRY_HOURS` have passed; a `410 Gone` disables the
   subscription.
"""

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import orjson
import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from app.core.changes import event_type_of
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import FieldError, Unprocessable
from app.core.uow import unit_of_work
from app.models import Change, WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import DeliveryStatus

log = structlog.get_logger("wsoa.webhooks")
BACKOFF_CAP = timedelta(hours=1)
UNPUBLISHED = {"webhook_subscription"}  # subscribers hear about the plan, not about the webhook machinery
# Event ids are uuid5 names of the change in this namespace: the same change always has the same id.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:wsoa-tracker:change")
# Time allowed for the destination check (a DNS lookup) on top of the HTTP timeout of one attempt.
DESTINATION_CHECK_SECONDS = 5.0


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_unspecified or ip.is_reserved


async def check_destination(url: str, settings: Settings) -> str | None:
    """Why the URL may not receive webhooks (None: it may). Loopback, link-local, private and multicast
    addresses are refused unless `WSOA_WEBHOOK_ALLOW_PRIVATE` is set (tests, internal deployments)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be http(s) with a host"
    if settings.webhook_allow_private:
        return None
    try:
        infos = await anyio.to_thread.run_sync(lambda: socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError, ValueError):
        return "the host does not resolve"
    if any(_refused(str(info[4][0])) for info in infos):
        return "the host resolves to a loopback, link-local, private or multicast address"
    return None


async def require_destination(url: str, settings: Settings) -> None:
    problem = await check_destination(url, settings)
    if problem is not None:
        raise Unprocessable(f"Webhooks cannot be sent there: {problem}.", errors=[FieldError(pointer="/url", message=problem)])


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential with full jitter: somewhere in [base·2^(n-1) / 2, base·2^(n-1)], at most an hour."""
    ceiling = min(BACKOFF_CAP.total_seconds(), settings.webhook_backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def event_id_of(seq: int, entity_id: uuid.UUID) -> uuid.UUID:
    """The event id (`webhook-id`) of a change: the same every time the change is fanned out."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{seq}:{entity_id}")


def _matches(subscription: Any, partnership_id: uuid.UUID | None, kind: str) -> bool:
    return subscription.partnership_id in (None, partnership_id) and (not subscription.event_types or kind in subscription.event_types)


def _insert_ignoring_duplicates(db: Database) -> Any:
    insert = sqlite_insert if db.is_sqlite else pg_insert
    return insert(WebhookDelivery).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])


async def fan_out(db: Database, *, batch: int = 500) -> int:
    """Create the deliveries of up to `batch` committed changes past the subscriptions' cursors and move the
    cursors past them, in one short unit of work; returns how many changes it moved past (0: caught up)."""
    async with unit_of_work(db) as session:
        query = select(
            col(WebhookSubscription.id),
            col(WebhookSubscription.partnership_id),
            col(WebhookSubscription.event_types),
            col(WebhookSubscription.active),
            col(WebhookSubscription.change_cursor),
        ).order_by(col(WebhookSubscription.id))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        subscriptions = (await session.execute(query)).all()
        if not subscriptions:
            return 0
        changes = (
            await session.execute(
                select(
                    col(Change.seq),
                    col(Change.occurred_at),
                    col(Change.entity_type),
                    col(Change.entity_id),
                    col(Change.action),
                    col(Change.partnership_id),
                    col(Change.plan_id),
                    col(Change.event_type),
                )
                .where(col(Change.seq) > min(s.change_cursor for s in subscriptions))
                .order_by(col(Change.seq))
                .limit(batch)
            )
        ).all()
        if not changes:
            return 0
        end = changes[-1].seq
        now = utcnow()
        active = [s for s in subscriptions if s.active]
        rows: list[dict[str, Any]] = []
        for change in changes:
            if change.entity_type in UNPUBLISHED:
                continue
            kind = event_type_of(change.entity_type, change.action, change.event_type)
            payload = {
                "type": kind,
                "id": str(change.entity_id),
                "plan_id": str(change.plan_id) if change.plan_id else None,
                "occurred_at": change.occurred_at.isoformat(),
            }
            event_id = event_id_of(change.seq, change.entity_id)
            for subscription in active:
                if change.seq <= subscription.change_cursor or not _matches(subscription, change.partnership_id, kind):
                    continue
                rows.append({"id": uuid.uuid4(), "partnership_id": change.partnership_id, "subscription_id": subscription.id,
                             "event_id": event_id, "event_type": kind, "payload": payload, "status": DeliveryStatus.pending.value,
                             "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now, "version": 1})  # fmt: skip
        if rows:
            await session.execute(_insert_ignoring_duplicates(db), rows)
        # The cursor is the worker's bookkeeping, not a change of the subscription: no new version, no ETag change.
        await session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_([s.id for s in subscriptions]), col(WebhookSubscription.change_cursor) < end)
            .values(change_cursor=end)
            .execution_options(synchronize_session=False)
        )
    if rows:
        log.info("webhook_fan_out", changes=len(changes), deliveries=len(rows), through_seq=end)
    return len(changes)


def attempt_deadline(settings: Settings) -> float:
    """Seconds one attempt may take at most, destination check included (the HTTP timeout is per phase)."""
    return settings.webhook_timeout_seconds + DESTINATION_CHECK_SECONDS


def lease(settings: Settings) -> timedelta:
    """How long a claim keeps other workers off a delivery: the attempt's deadline, and as long again to
    record its outcome. A delivery whose worker died is sent again after this."""
    return timedelta(seconds=2 * attempt_deadline(settings))


@dataclass(frozen=True)
class Claim:
    """A delivery taken by this worker, with what sending it needs."""

    id: uuid.UUID
    version: int  # after the claim: the outcome is recorded only if the delivery still has it
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str
    secret: str
    active: bool


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None


async def claim_due(db: Database, settings: Settings, *, batch: int) -> list[Claim]:
    """Take up to `batch` due deliveries for one lease, in one short committed transaction."""
    now = utcnow()
    due = (
        select(col(WebhookDelivery.id))
        .where(col(WebhookDelivery.status) == DeliveryStatus.pending.value, col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(batch)
    )
    if not db.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    async with unit_of_work(db) as session:
        taken = (
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(due))
                .values(next_attempt_at=now + lease(settings), version=col(WebhookDelivery.version) + 1)
                .returning(
                    col(WebhookDelivery.id),
                    col(WebhookDelivery.version),
                    col(WebhookDelivery.subscription_id),
                    col(WebhookDelivery.event_id),
                    col(WebhookDelivery.payload),
                    col(WebhookDelivery.attempts),
                    col(WebhookDelivery.created_at),
                )
                .execution_options(synchronize_session=False)
            )
        ).all()
        if not taken:
            return []
        subscriptions = {
            s.id: s
            for s in await session.execute(
                select(
                    col(WebhookSubscription.id),
                    col(WebhookSubscription.url),
                    col(WebhookSubscription.secret),
                    col(WebhookSubscription.active),
                ).where(col(WebhookSubscription.id).in_({d.subscription_id for d in taken}))
            )
        }
    return [
        Claim(d.id, d.version, d.subscription_id, d.event_id, d.payload, d.attempts, d.created_at, s.url, s.secret, s.active)
        for d in taken
        if (s := subscriptions.get(d.subscription_id)) is not None  # deleted meanwhile: its deliveries went with it
    ]


async def deliver_due(db: Database, settings: Settings, *, batch: int = 20) -> int:
    """Claim up to `batch` due deliveries, send them with no transaction open and record each outcome;
    returns how many were attempted."""
    claimed = await claim_due(db, settings, batch=batch)
    if not claimed:
        return 0
    async with (
        httpx.AsyncClient(follow_redirects=False, timeout=settings.webhook_timeout_seconds) as client,
        anyio.create_task_group() as tg,
    ):
        for claim in claimed:
            tg.start_soon(_attempt, db, client, settings, claim)
    return len(claimed)


async def _attempt(db: Database, client: httpx.AsyncClient, settings: Settings, claim: Claim) -> None:
    outcome = await send(client, settings, claim)
    await record(db, settings, claim, outcome)


async def send(client: httpx.AsyncClient, settings: Settings, claim: Claim) -> Outcome:
    """One signed POST to the subscriber, within the attempt's deadline; never raises for the receiver's faults."""
    if not claim.active:
        return Outcome(None, "subscription disabled")
    deadline = attempt_deadline(settings)
    try:
        with anyio.fail_after(deadline):
            error = await check_destination(claim.url, settings)
            if error is not None:
                return Outcome(None, error)
            body = orjson.dumps(claim.payload)
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": str(claim.event_id),
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(claim.secret, str(claim.event_id), timestamp, body),
            }
            response = await client.post(claim.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    except TimeoutError:
        return Outcome(None, f"no answer within {deadline:g} s")
    if not 200 <= response.status_code < 300:
        return Outcome(response.status_code, f"HTTP {response.status_code}")
    return Outcome(response.status_code, None)


async def record(db: Database, settings: Settings, claim: Claim, outcome: Outcome) -> None:
    """Store an attempt's outcome in a short unit of work of its own, unless the claim was lost meanwhile."""
    now = utcnow()
    values: dict[str, Any] = {"attempts": claim.attempts + 1, "last_status_code": outcome.status_code, "last_error": outcome.error,
                              "updated_at": now, "version": claim.version + 1}  # fmt: skip
    gone = outcome.status_code == 410
    if outcome.error is None:
        values.update(status=DeliveryStatus.succeeded.value, delivered_at=now, next_attempt_at=now)
    elif gone or not claim.active or now - claim.created_at > timedelta(hours=settings.webhook_retry_hours):
        values.update(status=DeliveryStatus.dead.value, next_attempt_at=now)
    else:
        values.update(next_attempt_at=now + backoff(claim.attempts + 1, settings))
    async with unit_of_work(db) as session:
        result = await session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == claim.id, col(WebhookDelivery.version) == claim.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("webhook_claim_lost", delivery=str(claim.id), error=outcome.error)  # redelivered or reclaimed meanwhile
            return
        if gone:
            await session.execute(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.id) == claim.subscription_id)
                .values(active=False, disabled_reason="the receiver answered 410 Gone", updated_at=now,
                        version=col(WebhookSubscription.version) + 1)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    log.info("webhook_attempt", delivery=str(claim.id), status=values.get("status", "pending"), http_status=outcome.status_code,
             error=outcome.error)  # fmt: skip
